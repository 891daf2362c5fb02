"""Inflating a 2D Inception-v1 into I3D (Carreira & Zisserman 2017, section 2.3).

Each 2D filter is repeated along time and divided by its temporal size (7 for Conv3d_1a, 3 for the
3x3x3 convs, 1 for the 1x1x1s), so that on a "boring" video, one image repeated, every conv gives
the 2D response at every time step. BatchNorm statistics and scales are reused unchanged and the
classifier's bias is not divided (it is added once). The property is exact where temporal padding
does not reach: everywhere with ``temporal_padding="replicate"``, only away from the clip's ends
with the original zero padding.

The 2D names are torchvision's GoogLeNet (see :mod:`kinetics.models.inception2d`); its auxiliary
heads (``aux1.*``, ``aux2.*``) have no I3D counterpart and are skipped.

Flow (2 channels) has no 2D counterpart: the 3-channel ImageNet filter of the first conv is
averaged over RGB and that average is used for every input channel, as in TSN's cross-modality
initialisation (Wang et al. 2016). Any other channel count is treated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from kinetics.models.architecture import END_POINTS_2D
from kinetics.models.ports import mismatch_error, strip_module_prefix

_BRANCHES_2D = {
    "b0": "branch1", "b1a": "branch2.0", "b1b": "branch2.1",
    "b2a": "branch3.0", "b2b": "branch3.1", "b3b": "branch4.1",
}
_IGNORED_2D = ("aux1.", "aux2.")
_FIRST_CONV = "Conv3d_1a_7x7.conv.weight"


def key_2d(key: str) -> str:
    """The torchvision GoogLeNet name of our I3D state-dict key ``key``."""
    parts = key.split(".")
    if parts[0] == "logits":
        return ".".join(["fc", *parts[1:]])
    head, rest = [END_POINTS_2D[parts[0]]], parts[1:]
    if rest[0] in _BRANCHES_2D:
        head, rest = [*head, _BRANCHES_2D[rest[0]]], rest[1:]
    return ".".join(head + rest)


def inflate_weight(weight_2d: torch.Tensor, *, time_size: int) -> torch.Tensor:
    """A 2D filter [out, in, h, w] repeated ``time_size`` times along a new time axis, divided by it."""
    return weight_2d.unsqueeze(2).repeat(1, 1, time_size, 1, 1) / time_size


def _first_conv(weight_2d: torch.Tensor, in_channels: int) -> torch.Tensor:
    if weight_2d.shape[1] == in_channels:
        return weight_2d
    return weight_2d.mean(dim=1, keepdim=True).expand(-1, in_channels, -1, -1)


def _inflate(key: str, value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if key == "logits.weight" and value.dim() == 2:
        return value.reshape(*value.shape, 1, 1, 1)
    if like.dim() == 5 and value.dim() == 4:
        if key == _FIRST_CONV:
            value = _first_conv(value, like.shape[1])
        return inflate_weight(value, time_size=like.shape[2])
    return value


def inflate_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, template: Mapping[str, torch.Tensor], source: str = "<2D state dict>"
) -> dict[str, torch.Tensor]:
    """An I3D state dict from a 2D Inception-v1 one, shaped like ``template`` (an I3D's state dict).

    The 2D classifier is inflated when its class count matches ``template``'s; otherwise (or when
    the 2D dict has none) the template's logits are kept. ``num_batches_tracked`` is optional.
    Raises ``CheckpointError`` naming every missing, unexpected or mis-shaped tensor.
    """
    state = {k: v for k, v in strip_module_prefix(state_dict).items() if not k.startswith(_IGNORED_2D)}
    names = {key_2d(key): key for key in template}
    fc = state.get("fc.weight")
    keep_template_logits = fc is None or fc.shape[0] != template["logits.weight"].shape[0]
    inflated: dict[str, torch.Tensor] = {}
    missing, misshaped = [], []
    for name_2d, key in names.items():
        value = state.get(name_2d)
        optional = key.endswith(".num_batches_tracked") or key.startswith("logits.")
        if value is None or (keep_template_logits and key.startswith("logits.")):
            if not optional:
                missing.append(name_2d)
            inflated[key] = template[key]
            continue
        value = _inflate(key, value, template[key])
        if value.shape != template[key].shape:
            misshaped.append(f"{name_2d}: {tuple(state[name_2d].shape)} does not inflate to {tuple(template[key].shape)}")
        inflated[key] = value
    unexpected = [name for name in state if name not in names]
    error = mismatch_error(
        f"{source}: is not a 2D Inception-v1 in torchvision naming",
        missing=missing, unexpected=unexpected, misshaped=misshaped,
    )
    if error is not None:
        raise error
    return inflated
