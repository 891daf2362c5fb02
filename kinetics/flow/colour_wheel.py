"""Optical flow as colour: the Middlebury colour wheel of Baker et al. (IJCV 2011), the field's standard.

Hue is the direction of motion, saturation its speed: white is still, pure colour is motion at
the scale (``max_flow``) or faster. Directions: right is red, down is orange-yellow, left is
cyan, up is blue-violet (image coordinates: x right, y down), exactly as in the Middlebury
``flowToColor`` / ``computeColor`` code, so previews read like every flow paper's figures.
"""

from __future__ import annotations

import numpy as np

#: hue steps between the wheel's six primary colours (red-yellow, yellow-green, ...), Baker et al.'s values
RY, YG, GC, CB, BM, MR = 15, 6, 4, 11, 13, 6
#: the smallest scale ``flow_to_colour`` normalises by: stored flow is quantised (a still pixel reads
#: back as +-0.08 px at the default bound), and scaling that noise to full colour would paint still scenes
MIN_SCALE_PIXELS = 1.0


def colour_wheel() -> np.ndarray:
    """float32 [55, 3] in [0, 255]: the wheel's colours, starting at red and turning through yellow."""
    steps = [(RY, (255, 0, 0), (0, 1, 0)), (YG, (255, 255, 0), (-1, 0, 0)), (GC, (0, 255, 0), (0, 0, 1)),
             (CB, (0, 255, 255), (0, -1, 0)), (BM, (0, 0, 255), (1, 0, 0)), (MR, (255, 0, 255), (0, 0, -1))]
    rows = []
    for count, start, direction in steps:
        ramp = np.floor(255 * np.arange(count) / count)
        rows.append(np.asarray(start, np.float32)[None, :] + np.outer(ramp, direction).astype(np.float32))
    return np.concatenate(rows).astype(np.float32)


_WHEEL = colour_wheel()


def flow_scale(fields: np.ndarray, *, percentile: float = 99.0) -> float:
    """A shared scale (pixels) for several fields: a high percentile of their speeds, at least MIN_SCALE_PIXELS.

    A percentile rather than the maximum, so a few wild pixels at the border do not wash the rest out.
    """
    flow = np.asarray(fields, dtype=np.float32)
    speed = np.hypot(flow[..., 0], flow[..., 1])
    finite = speed[np.isfinite(speed)]
    value = float(np.percentile(finite, percentile)) if finite.size else 0.0
    return max(value, MIN_SCALE_PIXELS)


def flow_to_colour(flow: np.ndarray, *, max_flow: float | None = None) -> np.ndarray:
    """uint8 [..., H, W, 3] RGB of float flow [..., H, W, 2] (pixels; x right, y down).

    ``max_flow`` is the speed that reaches full colour (default: ``flow_scale`` of this flow); faster
    pixels are drawn darker, as in the Middlebury code. NaN or infinite vectors are drawn black.
    """
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim < 3 or flow.shape[-1] != 2:
        raise ValueError(f"flow must be [..., H, W, 2], got shape {flow.shape}")
    scale = flow_scale(flow) if max_flow is None else float(max_flow)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"max_flow must be a positive number of pixels, got {max_flow!r}")
    u, v = flow[..., 0] / scale, flow[..., 1] / scale
    bad = ~(np.isfinite(u) & np.isfinite(v))
    u, v = np.where(bad, 0.0, u), np.where(bad, 0.0, v)
    radius = np.hypot(u, v)
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    ncols = len(_WHEEL)
    position = (angle + 1) / 2 * (ncols - 1)
    k0 = np.floor(position).astype(np.int64)
    k1 = (k0 + 1) % ncols
    fraction = (position - k0)[..., None]
    colour = ((1 - fraction) * _WHEEL[k0] + fraction * _WHEEL[k1]) / 255.0
    inside = (radius <= 1)[..., None]
    r = radius[..., None]
    colour = np.where(inside, 1 - r * (1 - colour), colour * 0.75)
    colour = np.where(bad[..., None], 0.0, colour)
    return np.clip(np.floor(255 * colour), 0, 255).astype(np.uint8)


def wheel_legend(size: int = 96) -> np.ndarray:
    """uint8 [size, size, 3]: the key to the coding (a disc of every direction and speed up to the scale)."""
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    image = flow_to_colour(np.stack([x, y], axis=-1), max_flow=1.0)
    image[np.hypot(x, y) > 1] = 255
    return image
