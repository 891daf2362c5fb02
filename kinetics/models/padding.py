"""TensorFlow 'SAME' padding, worked out from the input size at run time, for 2D and 3D layers.

I3D was defined in TensorFlow, whose 'SAME' padding depends on the input size and puts the extra
cell at the end (bottom, right, later) when the total is odd. A PyTorch ``padding=k // 2`` gives
the same output sizes at 224x224 but different numbers (about 5% in the logits), so every conv and
max-pool of :mod:`kinetics.models.i3d` and :mod:`kinetics.models.inception2d` pads through here.

Convs pad with zeros in space. In time they pad with zeros (``"zeros"``, the original) or with
copies of the first and last frame (``"replicate"``), which keeps inflated weights exact on a
"boring" video (one image repeated) at every time step. Max-pools ignore pad cells (``-inf``), as
TensorFlow does; the PyTorch ports pad with zeros, which is the same because every pool input
follows a ReLU.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F

TemporalPadding = Literal["zeros", "replicate"]
TEMPORAL_PADDINGS: tuple[str, ...] = get_args(TemporalPadding)


def check_temporal_padding(value: str) -> TemporalPadding:
    """Return ``value`` if it is a known temporal padding mode, else raise naming the choices."""
    if value not in TEMPORAL_PADDINGS:
        raise ValueError(f"temporal_padding={value!r} is not one of {', '.join(map(repr, TEMPORAL_PADDINGS))}")
    return value  # type: ignore[return-value]


def same_padding(size: int, *, kernel: int, stride: int) -> tuple[int, int]:
    """(front, back) pad of TF 'SAME' along one axis of ``size`` cells; output is ceil(size / stride)."""
    remainder = size % stride
    total = max(kernel - (stride if remainder == 0 else remainder), 0)
    return total // 2, total - total // 2


def _pads(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[tuple[int, int]]:
    sizes = x.shape[2:]
    return [same_padding(n, kernel=k, stride=s) for n, k, s in zip(sizes, kernel, stride)]


def _split(pads: list[tuple[int, int]]) -> tuple[list[int], list[int] | None]:
    """Symmetric part (for the op's own ``padding``) and the uneven rest (for F.pad, last axis first)."""
    symmetric = [min(front, back) for front, back in pads]
    rest = [(front - m, back - m) for (front, back), m in zip(pads, symmetric)]
    if not any(front or back for front, back in rest):
        return symmetric, None
    flat = [cell for pair in reversed(rest) for cell in pair]
    return symmetric, flat


def conv_same(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    stride: tuple[int, ...],
    temporal_padding: TemporalPadding = "zeros",
) -> torch.Tensor:
    """Conv2d/Conv3d (chosen by ``weight``'s rank) with TF 'SAME' padding for this input's size."""
    kernel = tuple(weight.shape[2:])
    pads = _pads(x, kernel, stride)
    if len(kernel) == 3 and temporal_padding == "replicate" and pads[0] != (0, 0):
        x = F.pad(x, (0, 0, 0, 0, *pads[0]), mode="replicate")
        pads[0] = (0, 0)
    symmetric, rest = _split(pads)
    if rest is not None:
        x = F.pad(x, rest)
    conv = F.conv3d if len(kernel) == 3 else F.conv2d
    return conv(x, weight, bias, stride=stride, padding=tuple(symmetric))


def max_pool_same(x: torch.Tensor, *, kernel: tuple[int, ...], stride: tuple[int, ...]) -> torch.Tensor:
    """Max-pool (2D or 3D by ``len(kernel)``) with TF 'SAME' padding; pad cells never win."""
    symmetric, rest = _split(_pads(x, kernel, stride))
    if rest is not None:
        x = F.pad(x, rest, value=float("-inf"))
    pool = F.max_pool3d if len(kernel) == 3 else F.max_pool2d
    return pool(x, kernel, stride, padding=tuple(symmetric))
