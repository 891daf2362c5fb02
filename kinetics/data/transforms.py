"""Spatial transforms for video tensors: a functional core and thin classes for dict samples.

Videos are ``[C, T, H, W]`` tensors (any leading dims work: every op acts on the last two).
RGB is ``C = 3``; flow is ``C = 2`` with channel 0 = x (right) and 1 = y (down), values in
[-1, 1] meaning ``value * bound`` pixels. Flow stays physically correct under every op here:
a horizontal flip negates x (written once, in :func:`hflip_flow`), and a resize by a factor ``s``
multiplies the displacements by ``s`` (clipped back to [-1, 1]).

One item's streams share their random choices: the classes draw a crop or a flip once per call
and apply it to every key, and :class:`SpatialOptions.plan` draws the same for the Dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Sequence, get_args

import torch
import torch.nn.functional as F

CropMode = Literal["random", "center"]
CROP_MODES: tuple[str, ...] = get_args(CropMode)
FLOW_KEYS = frozenset({"flow"})
Sample = dict


# -- functional core ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CropBox:
    """A rectangle in pixels: rows ``top:top+height``, columns ``left:left+width``."""

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self) -> None:
        if self.top < 0 or self.left < 0 or self.height < 1 or self.width < 1:
            raise ValueError(f"bad crop box {self}")

    def fits(self, height: int, width: int) -> bool:
        return self.top + self.height <= height and self.left + self.width <= width


def resized_size(height: int, width: int, short_side_pixels: int) -> tuple[int, int]:
    """(height, width) with the short side at ``short_side_pixels`` and the aspect ratio kept (rounded)."""
    scale = short_side_pixels / min(height, width)
    if height <= width:
        return short_side_pixels, max(1, round(width * scale))
    return max(1, round(height * scale)), short_side_pixels


def resize(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of the last two dims (float; no antialiasing, as OpenCV and TF1 resize)."""
    if tuple(video.shape[-2:]) == tuple(size):
        return video
    lead = video.shape[:-2]
    flat = video.reshape(1, -1, *video.shape[-2:]).float()
    out = F.interpolate(flat, size=size, mode="bilinear", align_corners=False, antialias=False)
    return out.reshape(*lead, *size)


def resize_short_side(video: torch.Tensor, short_side_pixels: int) -> torch.Tensor:
    return resize(video, resized_size(*video.shape[-2:], short_side_pixels))


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a flow field and scale its displacements with it (x by the width ratio, y by the height ratio)."""
    height, width = flow.shape[-2:]
    if (height, width) == tuple(size):
        return flow
    out = resize(flow, size)
    ratio = torch.tensor([size[1] / width, size[0] / height], dtype=out.dtype).view(2, 1, 1, 1)  # [..., 2, T, H, W]
    return out.mul_(ratio).clamp_(-1, 1)


def random_crop_box(height: int, width: int, size: int, *, generator: torch.Generator | None = None, align: int = 1) -> CropBox:
    """A ``size`` x ``size`` box at a random position; offsets are multiples of ``align``."""
    _check_crop(height, width, size)
    top = int(torch.randint(0, (height - size) // align + 1, (1,), generator=generator)) * align
    left = int(torch.randint(0, (width - size) // align + 1, (1,), generator=generator)) * align
    return CropBox(top, left, size, size)


def center_crop_box(height: int, width: int, size: int, *, align: int = 1) -> CropBox:
    _check_crop(height, width, size)
    return CropBox((height - size) // 2 // align * align, (width - size) // 2 // align * align, size, size)


def crop(video: torch.Tensor, box: CropBox) -> torch.Tensor:
    if not box.fits(*video.shape[-2:]):
        raise ValueError(f"crop {box} does not fit a {video.shape[-2]}x{video.shape[-1]} frame")
    return video[..., box.top : box.top + box.height, box.left : box.left + box.width]


def hflip(video: torch.Tensor) -> torch.Tensor:
    return video.flip(-1)


def hflip_flow(flow: torch.Tensor) -> torch.Tensor:
    """Mirror a flow field left-right: the x displacement changes sign, y does not."""
    return negate_flow_x(hflip(flow))


def negate_flow_x(flow: torch.Tensor) -> torch.Tensor:
    """The sign change a mirrored flow field needs (in place), for callers that mirrored it themselves."""
    flow[..., 0, :, :, :] *= -1  # [..., 2, T, H, W]: channel 0 is x
    return flow


def mirror_box(box: CropBox, width: int) -> CropBox:
    """Where ``box`` lands once a frame ``width`` pixels wide is mirrored left-right."""
    return CropBox(box.top, width - box.left - box.width, box.height, box.width)


def to_unit_range(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0..255 float) RGB -> float in [-1, 1], as I3D expects: ``x / 127.5 - 1``."""
    return rgb.float().mul_(1 / 127.5).sub_(1)


def _check_crop(height: int, width: int, size: int) -> None:
    if size > height or size > width:
        raise ValueError(f"a {size}x{size} crop does not fit a {height}x{width} frame (resize the short side first)")


# -- the Dataset's spatial pipeline ---------------------------------------------------------------
@dataclass(frozen=True)
class SpatialPlan:
    """One item's spatial choices, drawn once and applied to every stream (RGB and flow)."""

    height: int  # frame size after the resize
    width: int
    box: CropBox | None
    flip: bool


@dataclass(frozen=True)
class SpatialOptions:
    """Resize the short side, crop, maybe flip: the paper's spatial protocol as one value.

    Crop offsets are even so that 4:2:0 video can be cropped before colour conversion.
    ``None`` turns a step off.
    """

    short_side_pixels: int | None = 256
    crop_pixels: int | None = 224
    crop: CropMode = "random"
    flip: bool = True

    def __post_init__(self) -> None:
        if self.crop not in CROP_MODES:
            raise ValueError(f"crop must be one of {', '.join(CROP_MODES)}, got {self.crop!r}")
        for name in ("short_side_pixels", "crop_pixels"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive or None, got {value}")

    @classmethod
    def train(cls, *, short_side_pixels: int | None = 256, crop_pixels: int | None = 224) -> SpatialOptions:
        return cls(short_side_pixels, crop_pixels, "random", True)

    @classmethod
    def test(cls, *, short_side_pixels: int | None = 256, crop_pixels: int | None = 224) -> SpatialOptions:
        return cls(short_side_pixels, crop_pixels, "center", False)

    def plan(self, height: int, width: int, *, generator: torch.Generator | None = None) -> SpatialPlan:
        """Draw the resize, crop and flip for a ``height`` x ``width`` clip."""
        if self.short_side_pixels is not None:
            height, width = resized_size(height, width, self.short_side_pixels)
        box = None
        if self.crop_pixels is not None:
            if self.crop == "random":
                box = random_crop_box(height, width, self.crop_pixels, generator=generator, align=2)
            else:
                box = center_crop_box(height, width, self.crop_pixels, align=2)
        flip = self.flip and bool(torch.rand((), generator=generator) < 0.5)
        return SpatialPlan(height, width, box, flip)


def apply_plan(video: torch.Tensor, plan: SpatialPlan, *, is_flow: bool = False) -> torch.Tensor:
    """Resize, crop and flip ``video`` as ``plan`` says (flow-aware when ``is_flow``)."""
    size = (plan.height, plan.width)
    video = resize_flow(video, size) if is_flow else resize(video, size)
    if plan.box is not None:
        video = crop(video, plan.box)
    if plan.flip:
        video = hflip_flow(video) if is_flow else hflip(video)
    return video


# -- thin classes over dict samples ---------------------------------------------------------------
class ApplyToKeys:
    """Apply a tensor function to each of ``keys`` present in a dict sample (other keys pass through)."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], keys: Sequence[str] = ("rgb",)):
        self.fn = fn
        self.keys = tuple(keys)

    def __call__(self, sample: Mapping, *, generator: torch.Generator | None = None) -> Sample:
        return {k: self.fn(v) if k in self.keys else v for k, v in sample.items()}


class _SpatialTransform:
    """Base for the classes below: one plan per call, applied to every key."""

    def __init__(self, keys: Sequence[str]):
        self.keys = tuple(keys)

    def _size(self, sample: Mapping) -> tuple[int, int]:
        present = [sample[k] for k in self.keys if k in sample]
        if not present:
            raise KeyError(f"none of {self.keys} in the sample (keys: {sorted(sample)})")
        return tuple(present[0].shape[-2:])

    def _plan(self, height: int, width: int, generator: torch.Generator | None) -> SpatialPlan:
        raise NotImplementedError

    def __call__(self, sample: Mapping, *, generator: torch.Generator | None = None) -> Sample:
        plan = self._plan(*self._size(sample), generator)
        return {k: apply_plan(v, plan, is_flow=k in FLOW_KEYS) if k in self.keys else v for k, v in sample.items()}


class ResizeShortSide(_SpatialTransform):
    def __init__(self, short_side_pixels: int = 256, *, keys: Sequence[str] = ("rgb", "flow")):
        super().__init__(keys)
        self.short_side_pixels = short_side_pixels

    def _plan(self, height, width, generator):
        return SpatialPlan(*resized_size(height, width, self.short_side_pixels), None, False)


class RandomCrop(_SpatialTransform):
    def __init__(self, size: int = 224, *, keys: Sequence[str] = ("rgb", "flow")):
        super().__init__(keys)
        self.size = size

    def _plan(self, height, width, generator):
        return SpatialPlan(height, width, random_crop_box(height, width, self.size, generator=generator), False)


class CenterCrop(_SpatialTransform):
    def __init__(self, size: int = 224, *, keys: Sequence[str] = ("rgb", "flow")):
        super().__init__(keys)
        self.size = size

    def _plan(self, height, width, generator):
        return SpatialPlan(height, width, center_crop_box(height, width, self.size), False)


class RandomHorizontalFlip(_SpatialTransform):
    """Flip every key with probability ``p``; ``flow`` keys also get their x displacement negated."""

    def __init__(self, p: float = 0.5, *, keys: Sequence[str] = ("rgb", "flow")):
        super().__init__(keys)
        self.p = p

    def _plan(self, height, width, generator):
        return SpatialPlan(height, width, None, bool(torch.rand((), generator=generator) < self.p))


class ToUnitRange(ApplyToKeys):
    """uint8 RGB -> [-1, 1] floats (I3D's input range)."""

    def __init__(self, *, keys: Sequence[str] = ("rgb",)):
        super().__init__(to_unit_range, keys)


class Compose:
    """Run transforms in order, threading one generator through them."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, sample: Mapping, *, generator: torch.Generator | None = None) -> Sample:
        out = dict(sample)
        for transform in self.transforms:
            out = transform(out, generator=generator)
        return out
