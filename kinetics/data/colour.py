"""8-bit 4:2:0 Y'CbCr to the float RGB in [-1, 1] that I3D takes, colour-space correct.

The decoder hands over each frame's Y, U and V planes; ``convert_frame`` writes the cropped (and
mirrored) box of one frame straight into the output, with the [-1, 1] scaling folded into the
coefficients and the result clipped. BT.601, BT.709 and BT.2020 weights follow the stream's
colour space code (unknown codes use BT.601, as swscale does), limited or full range.

A compiled kernel (numba) does this in one pass; where numba cannot be imported, the same
arithmetic runs as NumPy ops (about 3x slower per frame, same numbers bit for bit).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from kinetics.data.buffers import OUTPUT_BUFFERS
from kinetics.data.transforms import CropBox
from kinetics.errors import MissingDependencyError

# Luma/chroma weights (Kr, Kb) by the colour space code FFmpeg stores.
_KR_KB = {1: (0.2126, 0.0722), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}
_BT601 = (0.299, 0.114)
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


@dataclass(frozen=True)
class Coefficients:
    """Unit-range RGB from 8-bit Y'CbCr: ``R = y*Y + r_v*V + r0``, ``G = y*Y + g_u*U + g_v*V + g0``,
    ``B = y*Y + b_u*U + b0`` (the offsets fold in Y's black level, chroma's 128 and the final -1)."""

    y: np.float32
    r_v: np.float32
    g_u: np.float32
    g_v: np.float32
    b_u: np.float32
    r0: np.float32
    g0: np.float32
    b0: np.float32

    @classmethod
    def for_frame(cls, frame) -> Coefficients:
        """From a decoded PyAV frame's colour space and range (``yuvj420p`` is full range too)."""
        full_range = frame.format.name == "yuvj420p" or int(frame.color_range) == _FULL_RANGE
        return cls.for_stream(int(frame.colorspace), full_range)

    @classmethod
    def for_stream(cls, colorspace: int, full_range: bool) -> Coefficients:
        """``colorspace``: FFmpeg's AVColorSpace code (``frame.colorspace``)."""
        kr, kb = _KR_KB.get(colorspace, _BT601)
        kg = 1 - kr - kb
        y_scale, c_scale, black = (1.0, 1.0, 0.0) if full_range else (255 / 219, 255 / 224, 16.0)
        unit = 1 / 127.5
        y = y_scale * unit
        r_v = 2 * (1 - kr) * c_scale * unit
        g_u, g_v = -2 * kb * (1 - kb) / kg * c_scale * unit, -2 * kr * (1 - kr) / kg * c_scale * unit
        b_u = 2 * (1 - kb) * c_scale * unit
        base = -black * y - 1.0
        f = np.float32
        return cls(f(y), f(r_v), f(g_u), f(g_v), f(b_u), f(base - 128 * r_v), f(base - 128 * (g_u + g_v)), f(base - 128 * b_u))


def convert_frame(y: np.ndarray, u: np.ndarray, v: np.ndarray, box: CropBox, out: np.ndarray, c: Coefficients, *,
                  hflip: bool = False, compiled: bool | None = None) -> None:
    """Write ``box`` of one frame into ``out`` (float32 ``[3, h, w]``, each channel C-contiguous).

    ``y``, ``u``, ``v``: whole uint8 planes, rows contiguous (padding columns allowed); ``box``
    must have even offsets and sizes. ``hflip`` mirrors the box. ``compiled=False`` forces the
    NumPy path (None: the kernel when numba imports).
    """
    _check(y, u, v, box, out)
    kernel = None if compiled is False else _kernel()
    if compiled and kernel is None:
        raise MissingDependencyError("compiled=True needs numba: pip install numba")
    if kernel is not None:
        kernel(y, u, v, box.top, box.left, out[0], out[1], out[2], hflip, c.y, c.r_v, c.g_u, c.g_v, c.b_u, c.r0, c.g0, c.b0)
        return
    columns = slice(None, None, -1 if hflip else 1)
    top, left, height, width = box.top // 2, box.left // 2, box.height // 2, box.width // 2
    _convert_numpy(
        y[box.top : box.top + box.height, box.left : box.left + box.width][:, columns],
        u[top : top + height, left : left + width][:, columns],
        v[top : top + height, left : left + width][:, columns],
        out,
        c,
    )


def yuv420_to_unit_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, *, colorspace: int = 0, full_range: bool = False) -> torch.Tensor:
    """uint8 planes ``[T, H, W]``, ``[T, H/2, W/2]`` x2 -> float RGB ``[3, T, H, W]`` in [-1, 1]."""
    frames, height, width = y.shape
    out = OUTPUT_BUFFERS.empty((3, frames, height, width))
    coefficients = Coefficients.for_stream(colorspace, full_range)
    planes = out.numpy()
    box = CropBox(0, 0, height, width)
    y, u, v = (np.ascontiguousarray(p) for p in (y, u, v))
    for frame in range(frames):
        convert_frame(y[frame], u[frame], v[frame], box, planes[:, frame], coefficients)
    return out


def _check(y: np.ndarray, u: np.ndarray, v: np.ndarray, box: CropBox, out: np.ndarray) -> None:
    """The kernel does not check bounds: refuse anything that would make it read or write outside."""
    chroma = CropBox(box.top // 2, box.left // 2, box.height // 2, box.width // 2)
    if any(n % 2 for n in (box.top, box.left, box.height, box.width)):
        raise ValueError(f"a 4:2:0 crop needs even offsets and sizes, got {box}")
    if not (box.fits(*y.shape) and chroma.fits(*u.shape) and chroma.fits(*v.shape)):
        raise ValueError(f"crop {box} does not fit planes of {y.shape}, {u.shape}, {v.shape}")
    if out.shape != (3, box.height, box.width) or out.dtype != np.float32:
        raise ValueError(f"output must be float32 [3, {box.height}, {box.width}], got {out.dtype} {list(out.shape)}")


@functools.cache
def _kernel():
    try:
        from kinetics.data._colour_kernel import yuv420_frame
    except ImportError:  # numba missing or broken: the NumPy path, slower but equal
        return None
    return yuv420_frame


def _convert_numpy(y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray, c: Coefficients) -> None:
    """One frame: the chroma terms at half width, then one broadcast add per output channel, clipped.

    NumPy rather than torch: it never spreads these small ops over OpenMP threads, which on a
    busy machine made a main-process item 10x slower (measured; workers run torch single-threaded).
    """
    height, width = y.shape
    cu = _widen(u).astype(np.float32)  # [H/2, W]: each chroma sample covers 2x2 pixels
    cv = _widen(v).astype(np.float32)
    red = cv * c.r_v
    red += c.r0
    green = cu * c.g_u
    cv *= c.g_v
    green += cv
    green += c.g0
    cu *= c.b_u
    cu += c.b0
    luma = np.multiply(y, c.y, dtype=np.float32).reshape(height // 2, 2, width)
    for channel, term in enumerate((red, green, cu)):
        np.add(luma, term.reshape(height // 2, 1, width), out=out[channel].reshape(height // 2, 2, width))
    np.clip(out, -1, 1, out=out)


def _widen(plane: np.ndarray) -> np.ndarray:
    """Repeat each uint8 sample twice along the last dim (``[.., W/2] -> [.., W]``) with one multiply.

    As 16-bit numbers, ``c * 257`` has both bytes equal to ``c``, so viewing them as bytes is the
    nearest-neighbour widening, whatever the byte order.
    """
    return (plane.astype(np.uint16) * np.uint16(257)).view(np.uint8)
