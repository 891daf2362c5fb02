"""Each flow method's parameters, as frozen dataclasses checked when they are made.

Kept apart from ``methods`` so that the implementations (``tvl1`` and friends) can take their
parameters without importing the dispatcher that imports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal, get_args

DISPreset = Literal["ultrafast", "fast", "medium"]
DIS_PRESETS: tuple[str, ...] = get_args(DISPreset)


@dataclass(frozen=True)
class TVL1Params:
    """OpenCV's ``DualTVL1OpticalFlow`` parameters with its defaults (Zach, Pock & Bischof 2007).

    ``lambda_`` is OpenCV's ``lambda`` (the data-term weight); ``median_filtering`` is the median
    window applied to the flow before each block of inner iterations (0 or 1 = off, 3 or 5).
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    gamma: float = 0.0
    median_filtering: int = 5

    def __post_init__(self) -> None:
        _check_fields(self, "TV-L1", ("tau", "lambda_", "theta", "scale_step"), "a positive number", _positive)
        if not self.scale_step < 1:
            raise ValueError(f"TV-L1 scale_step must be below 1 (each level is smaller), got {self.scale_step!r}")
        _check_fields(self, "TV-L1", ("epsilon", "gamma"), "a number >= 0", _non_negative)
        _check_fields(self, "TV-L1", ("nscales", "warps", "inner_iterations", "outer_iterations"), "an integer >= 1", _count)
        if self.median_filtering not in (0, 1, 3, 5):
            raise ValueError(f"TV-L1 median_filtering must be 0 or 1 (off), 3 or 5, got {self.median_filtering!r}")


@dataclass(frozen=True)
class DISParams:
    """OpenCV's DIS optical flow, configured by one of its presets."""

    preset: DISPreset = "medium"

    def __post_init__(self) -> None:
        if self.preset not in DIS_PRESETS:
            raise ValueError(f"DIS preset must be one of {DIS_PRESETS}, got {self.preset!r}")


@dataclass(frozen=True)
class FarnebackParams:
    """``cv2.calcOpticalFlowFarneback`` arguments, with the values of OpenCV's own sample."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2

    def __post_init__(self) -> None:
        if not 0 < self.pyr_scale < 1:
            raise ValueError(f"Farneback pyr_scale must be in (0, 1), got {self.pyr_scale!r}")
        _check_fields(self, "Farneback", ("levels", "winsize", "iterations"), "an integer >= 1", _count)
        if self.poly_n not in (5, 7):
            raise ValueError(f"Farneback poly_n must be 5 or 7, got {self.poly_n!r}")
        if not self.poly_sigma > 0:
            raise ValueError(f"Farneback poly_sigma must be positive, got {self.poly_sigma!r}")


def _check_fields(params, method: str, names: tuple[str, ...], requirement: str, valid: Callable[[Any], bool]) -> None:
    """Raise ValueError naming the first of ``names`` whose value is not ``valid``."""
    for name in names:
        value = getattr(params, name)
        if not valid(value):
            raise ValueError(f"{method} {name} must be {requirement}, got {value!r}")


def _positive(value: Any) -> bool:
    return math.isfinite(value) and value > 0


def _non_negative(value: Any) -> bool:
    return math.isfinite(value) and value >= 0


def _count(value: Any) -> bool:
    return isinstance(value, int) and value >= 1


MIN_LEVEL_SIDE = 16  # OpenCV stops building the TV-L1 pyramid before a side would drop below this


def pyramid_sizes(height: int, width: int, *, scale_step: float, nscales: int) -> list[tuple[int, int]]:
    """(H, W) per level, finest first: each the previous times ``scale_step``, rounded half-even
    as OpenCV rounds them; no level has a side below ``MIN_LEVEL_SIDE``."""
    sizes = [(int(height), int(width))]
    while len(sizes) < nscales:
        h, w = sizes[-1]
        smaller = (round(h * scale_step), round(w * scale_step))
        if min(smaller) < MIN_LEVEL_SIDE:
            break
        sizes.append(smaller)
    return sizes
