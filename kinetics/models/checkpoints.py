"""Fetch a checkpoint into the user's cache, verify it, and read it safely (``I3D.from_pretrained`` uses it).

The cache is ``$KINETICS_CACHE/checkpoints`` (default ``~/.cache/kinetics/checkpoints``). A file is
streamed to a hidden ``.part`` sibling, hashed on the way, and renamed into place only when it is
complete and, where the registry knows the sha256, matches it; a cached file is used as it is.
Files are read with ``torch.load(weights_only=True)``: a checkpoint cannot run code.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from kinetics.errors import CheckpointError, ChecksumError
from kinetics.models.ports import (
    Port,
    detect_port,
    from_port,
    port_key,
    strip_module_prefix,
)
from kinetics.models.registry import CheckpointSpec, checkpoint_names, get_checkpoint

TIMEOUT_SECONDS = 60.0
_CHUNK_BYTES = 1 << 20


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where checkpoints are kept: ``cache_dir``, else ``$KINETICS_CACHE/checkpoints``, else ~/.cache."""
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("KINETICS_CACHE") or Path.home() / ".cache" / "kinetics"
    return Path(base) / "checkpoints"


def checkpoint_url(spec: CheckpointSpec, *, base_url: str | None = None) -> str:
    """The registered URL, or the same file name under ``base_url`` (a mirror)."""
    if base_url is None:
        return spec.url
    return f"{base_url.rstrip('/')}/{spec.filename}"


def fetch_checkpoint(
    spec: CheckpointSpec, *, cache_dir: str | os.PathLike | None = None, base_url: str | None = None
) -> Path:
    """The cached file of ``spec``, downloading (and verifying) it first if it is not cached."""
    directory = cache_root(cache_dir)
    target = directory / f"{spec.name}{Path(spec.filename).suffix}"
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    url = checkpoint_url(spec, base_url=base_url)
    temp = directory / f".{target.name}.{secrets.token_hex(4)}.part"
    try:
        digest = _download(url, temp)
        if spec.sha256 is not None and digest != spec.sha256:
            raise ChecksumError(f"{url}: sha256 {digest} does not match {spec.sha256} registered for {spec.name}")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _download(url: str, destination: Path) -> str:
    """Stream ``url`` to ``destination``; the sha256 of what was written. Short reads are errors."""
    hasher = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(destination, "wb") as out:
            expected = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK_BYTES):
                hasher.update(chunk)
                out.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as err:
        raise CheckpointError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:  # refused, timed out, cut short (IncompleteRead)
        raise CheckpointError(f"{url}: download failed after {received} bytes: {err}") from err
    if expected is not None and received != int(expected):
        raise CheckpointError(f"{url}: got {received} of {expected} bytes")
    return hasher.hexdigest()


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from a ``torch.save`` file (zip or PyTorch < 1.6 legacy), tensors only, on the CPU."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises pickle, zip, runtime and unpickling errors alike
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {_reason(err)}") from err
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors, found {type(loaded).__name__}")
    return strip_module_prefix(loaded)


def _reason(err: Exception) -> str:
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
    """A checkpoint file read into memory, with what is needed to build the model it fits."""

    source: str
    state_dict: dict[str, torch.Tensor]
    port: Port
    num_classes: int
    in_channels: int

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
        return Checkpoint(source, read_state_dict(path), found.port, found.num_classes, found.in_channels)
    state_dict = read_state_dict(found)
    port = detect_port(state_dict, source=str(found))
    num_classes, in_channels = _layout(state_dict, port=port, source=str(found))
    return Checkpoint(str(found), state_dict, port, num_classes, in_channels)


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
