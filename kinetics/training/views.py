"""Test-time views of a clip: temporal windows and spatial crops, stacked for averaging.

The paper tests on the whole clip with one centre crop. Multi-view testing (a common later
practice) averages the logits of several views: ``views`` evenly spaced temporal windows
(``SamplingOptions.multi_view``) times ``crops`` square crops along the long side (3: start,
centre, end). :func:`test_sampling` and :func:`test_spatial` give the loader's options;
:class:`ThreeCrop` is the dataset transform that cuts the crops and stacks every view as
``[V, C, T, H, W]`` (flow values are unchanged by cropping).
"""

from __future__ import annotations

import torch

from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.training.config import Crops

VIEW_KEYS = ("rgb", "flow")


def test_sampling(*, frames: int, fps: float = 25.0, views: int = 1) -> SamplingOptions:
    """One centre window of ``frames`` (the paper: 250 = a whole 10 s clip), or ``views`` evenly spaced ones."""
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}")
    if views == 1:
        return SamplingOptions.test(num_frames=frames, fps=fps)
    return SamplingOptions.multi_view(views, num_frames=frames, fps=fps)


def test_spatial(*, short_side_pixels: int | None, crop_pixels: int, crops: Crops = 1) -> SpatialOptions:
    """A centre crop; with three crops the loader only resizes and :class:`ThreeCrop` cuts them."""
    if crops not in (1, 3):
        raise ValueError(f"crops must be 1 or 3, got {crops}")
    if crops == 1:
        return SpatialOptions.test(short_side_pixels=short_side_pixels, crop_pixels=crop_pixels)
    return SpatialOptions(short_side_pixels, None, "center", False)


def three_crop_offsets(long_side: int, size: int) -> tuple[int, int, int]:
    """Offsets of the start, centre and end crops along the long side."""
    if size > long_side:
        raise ValueError(f"a {size}-pixel crop does not fit a {long_side}-pixel side")
    return 0, (long_side - size) // 2, long_side - size


class ThreeCrop:
    """Dict-sample transform: three ``size`` squares along the long side, centred on the short side, as views.

    Reads and replaces ``rgb`` / ``flow`` (``[C, T, H, W]`` or ``[V, C, T, H, W]``), giving ``[3V, C, T, size, size]``.
    """

    def __init__(self, size: int):
        self.size = size

    def __call__(self, sample: dict) -> dict:
        out = dict(sample)
        for key in VIEW_KEYS:
            if key in sample:
                out[key] = self.crops(sample[key])
        return out

    def crops(self, video: torch.Tensor) -> torch.Tensor:
        views = video if video.dim() == 5 else video.unsqueeze(0)
        height, width = views.shape[-2:]
        size = self.size
        if min(height, width) < size:
            raise ValueError(f"a {size}x{size} crop does not fit {height}x{width} frames")
        top, left = (height - size) // 2, (width - size) // 2
        if width >= height:
            boxes = [(top, x) for x in three_crop_offsets(width, size)]
        else:
            boxes = [(y, left) for y in three_crop_offsets(height, size)]
        cut = [views[..., y:y + size, x:x + size] for y, x in boxes]  # each [V, C, T, s, s]
        return torch.stack(cut, dim=1).flatten(0, 1).contiguous()
