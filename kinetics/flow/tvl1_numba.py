"""Dual TV-L1 on the CPU with fused numba kernels: OpenCV's flow at a fraction of its CPU time.

The same algorithm, parameters and stopping rule as OpenCV's ``DualTVL1OpticalFlow``
(``shared/notes/tvl1.md`` section 2), so the iteration counts are OpenCV's. What differs is how
the work is laid out:

* OpenCV's five full-image passes per inner iteration (thresholding step, two divergences, the
  primal update with the error sum, two forward gradients, the dual step with ``hypot`` in double)
  are one pass here, row by row (``_iterate``): the primal update of row ``y`` reads the duals of
  rows ``y`` and ``y - 1`` before the dual step of row ``y - 1`` overwrites them, so everything
  updates in place, with OpenCV's float32 operations in OpenCV's order.
* The pieces that are a small share of the time and easy to get subtly wrong are OpenCV's own
  functions, so they are exact by construction: the pyramid and flow resizes (``cv2.resize``), the
  bicubic warp (``cv2.remap``, INTER_CUBIC, zero border) and the 5x5 median (``cv2.medianBlur``).
* Frame pairs are independent (OpenCV does not warm-start), so ``threads`` threads each take whole
  pairs: the kernels release the GIL (``nogil``) and OpenCV's calls run single-threaded inside, which
  avoids OpenCV's per-row parallel overhead on small images.

Measured (``benchmarks/flow_methods.py``, real footage at 340x256): bit-identical to OpenCV 5.1's
flow on every pair tried, at 0.27-0.32x its CPU-seconds per pair, at 1 and 2 threads. Kernels
compile on first use and are cached on disk (``cache=True``): 2-4 s for the first pair in a fresh
environment, ~0.5 s in a later process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numba import njit

from kinetics.errors import KineticsError
from kinetics.flow.params import MIN_LEVEL_SIDE, TVL1Params

VERSION = "1"  # bump when a change can alter the flow this module produces (recorded in flow files)
FLT_EPSILON = np.float32(1.1920928955078125e-07)
FLT_MAX = np.float32(3.4028234663852886e38)
MIN_SIDE = 3  # the centred gradient needs 3 pixels a side
DEFAULTS = TVL1Params()  # OpenCV's defaults


class TVL1InputError(KineticsError, ValueError):
    """Frames this TV-L1 cannot compute flow for (shape, size, dtype, non-finite values)."""


@dataclass(frozen=True)
class PairResult:
    """Flow [H, W, 2] float32 of one pair and the inner iterations it ran (OpenCV runs as many)."""

    flow: np.ndarray
    iterations: int


# -- kernels ------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _centered_gradient(src):
    """OpenCV's ``centeredGradient``: half central differences, one-sided (halved) on the borders."""
    rows, cols = src.shape
    dx = np.empty_like(src)
    dy = np.empty_like(src)
    half = np.float32(0.5)
    for y in range(rows):
        up = y - 1 if y > 0 else 0
        down = y + 1 if y < rows - 1 else rows - 1
        for x in range(cols):
            left = x - 1 if x > 0 else 0
            right = x + 1 if x < cols - 1 else cols - 1
            dx[y, x] = half * (src[y, right] - src[y, left])
            dy[y, x] = half * (src[down, x] - src[up, x])
    return dx, dy


@njit(cache=True, nogil=True)
def _flow_map(u1, u2, map_x, map_y):
    """OpenCV's ``buildFlowMap``: sample positions (x + u1, y + u2) in float."""
    rows, cols = u1.shape
    for y in range(rows):
        fy = np.float32(y)
        for x in range(cols):
            map_x[y, x] = np.float32(x) + u1[y, x]
            map_y[y, x] = fy + u2[y, x]


@njit(cache=True, nogil=True)
def _grad_rho(i0, i1w, i1wx, i1wy, u1, u2, grad, rho_c):
    """OpenCV's ``calcGradRho``: |grad I1w|^2 and the constant part of the data term, for one warp."""
    rows, cols = i0.shape
    for y in range(rows):
        for x in range(cols):
            ix = i1wx[y, x]
            iy = i1wy[y, x]
            grad[y, x] = ix * ix + iy * iy
            rho_c[y, x] = i1w[y, x] - ix * u1[y, x] - iy * u2[y, x] - i0[y, x]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _primal_row(u1, u2, ix_, iy_, g_, rc_, p11, p12, p12u, p21, p22, p22u, err, l_t, theta):
    """Primal step of one row (thresholding, divergence, update, error terms); ``p12u``/``p22u`` are the row above (zeros on row 0)."""
    cols = u1.shape[0]
    _primal_px(u1, u2, ix_, iy_, g_, rc_, err, l_t, theta, 0, p11[0] + p12[0] - p12u[0], p21[0] + p22[0] - p22u[0])
    for x in range(1, cols):
        div1 = (p11[x] - p11[x - 1]) + (p12[x] - p12u[x])
        div2 = (p21[x] - p21[x - 1]) + (p22[x] - p22u[x])
        _primal_px(u1, u2, ix_, iy_, g_, rc_, err, l_t, theta, x, div1, div2)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _primal_px(u1, u2, ix_, iy_, g_, rc_, err, l_t, theta, x, div1, div2):
    zero = np.float32(0.0)
    ix = ix_[x]
    iy = iy_[x]
    g = g_[x]
    a1 = u1[x]
    a2 = u2[x]
    rho = rc_[x] + (ix * a1 + iy * a2)
    lg = l_t * g
    fi = -rho / g
    d1 = fi * ix if g > FLT_EPSILON else zero
    d2 = fi * iy if g > FLT_EPSILON else zero
    d1 = -l_t * ix if rho > lg else d1
    d2 = -l_t * iy if rho > lg else d2
    d1 = l_t * ix if rho < -lg else d1
    d2 = l_t * iy if rho < -lg else d2
    n1 = (a1 + d1) + theta * div1
    n2 = (a2 + d2) + theta * div2
    u1[x] = n1
    u2[x] = n2
    e1 = n1 - a1
    e2 = n2 - a2
    err[x] = e1 * e1 + e2 * e2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dual_row(u1, u2, u1d, u2d, p11, p12, p21, p22, taut):
    """Dual step of one row from the new u (``u1d``/``u2d``: the row below; the row itself on the last row)."""
    cols = u1.shape[0]
    zero = np.float32(0.0)
    for x in range(cols - 1):
        _dual_px(u1, u2, u1d, u2d, p11, p12, p21, p22, taut, x, u1[x + 1] - u1[x], u2[x + 1] - u2[x])
    _dual_px(u1, u2, u1d, u2d, p11, p12, p21, p22, taut, cols - 1, zero, zero)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dual_px(u1, u2, u1d, u2d, p11, p12, p21, p22, taut, x, u1x, u2x):
    one = np.float32(1.0)
    c1 = u1[x]
    c2 = u2[x]
    u1y = u1d[x] - c1
    u2y = u2d[x] - c2
    g1 = np.float32(np.sqrt(np.float64(u1x) * np.float64(u1x) + np.float64(u1y) * np.float64(u1y)))
    g2 = np.float32(np.sqrt(np.float64(u2x) * np.float64(u2x) + np.float64(u2y) * np.float64(u2y)))
    ng1 = one + taut * g1
    ng2 = one + taut * g2
    p11[x] = (p11[x] + taut * u1x) / ng1
    p12[x] = (p12[x] + taut * u1y) / ng1
    p21[x] = (p21[x] + taut * u2x) / ng2
    p22[x] = (p22[x] + taut * u2y) / ng2


@njit(cache=True, nogil=True, error_model="numpy")
def _iterate(u1, u2, p11, p12, p21, p22, i1wx, i1wy, grad, rho_c, l_t, theta, taut, threshold, budget, err_row):
    """Up to ``budget`` inner iterations, stopping after the first whose error is <= ``threshold``.

    One iteration is OpenCV's estimateV, divergence x2, estimateU (error), forwardGradient x2 and
    estimateDualVariables fused into one pass over the rows, in place: the primal step of row y
    reads the duals of rows y and y - 1 before the dual step of row y - 1 overwrites them. The
    error is summed in float, in row order. Returns (error, iterations run).
    """
    rows, cols = u1.shape
    zeros = np.zeros(cols, np.float32)
    error = FLT_MAX
    done = 0
    while done < budget:
        error32 = np.float32(0.0)
        for y in range(rows + 1):
            if y < rows:
                above12 = p12[y - 1] if y > 0 else zeros
                above22 = p22[y - 1] if y > 0 else zeros
                _primal_row(u1[y], u2[y], i1wx[y], i1wy[y], grad[y], rho_c[y], p11[y], p12[y], above12,
                            p21[y], p22[y], above22, err_row, l_t, theta)
                for x in range(cols):
                    error32 += err_row[x]
            if y > 0:
                r = y - 1
                below = r + 1 if r + 1 < rows else r
                _dual_row(u1[r], u2[r], u1[below], u2[below], p11[r], p12[r], p21[r], p22[r], taut)
        error = error32
        done += 1
        if not error > threshold:
            break
    return error, done


@njit(cache=True, nogil=True)
def _all_finite(a):
    for value in a.ravel():
        if not np.isfinite(value):
            return False
    return True


# -- driver -------------------------------------------------------------------------------------
def _f32(value: float) -> np.float32:
    return np.float32(value)  # OpenCV's static_cast<float>


def tvl1_pair(frame0: np.ndarray, frame1: np.ndarray, params: TVL1Params = DEFAULTS) -> PairResult:
    """TV-L1 flow from ``frame0`` to ``frame1`` (grey [H, W]; uint8 as 0..255, float in [0, 1] times 255)."""
    import cv2

    if params.gamma != 0:
        raise TVL1InputError("the numba TV-L1 does not implement the illumination term (gamma); use gamma=0")
    i0, i1 = _as_float(frame0), _as_float(frame1)
    if i0.shape != i1.shape or i0.ndim != 2:
        raise TVL1InputError(f"frames must be two grey [H, W] arrays of one shape, got {frame0.shape} and {frame1.shape}")
    if min(i0.shape) < MIN_SIDE:
        raise TVL1InputError(f"frames must be at least {MIN_SIDE}x{MIN_SIDE} pixels, got {i0.shape[1]}x{i0.shape[0]}")
    if not (_all_finite(i0) and _all_finite(i1)):
        raise TVL1InputError("frames contain NaN or infinite values")
    step = params.scale_step
    levels0, levels1 = [i0], [i1]
    while len(levels0) < params.nscales:  # as OpenCV: resize, and stop at a level with a side under 16
        smaller = cv2.resize(levels0[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
        if min(smaller.shape) < MIN_LEVEL_SIDE:
            break
        levels0.append(smaller)
        levels1.append(cv2.resize(levels1[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR))
    sizes = [level.shape for level in levels0]
    u1 = np.zeros(sizes[-1], np.float32)
    u2 = np.zeros(sizes[-1], np.float32)
    iterations = 0
    for level in range(len(sizes) - 1, -1, -1):
        u1, u2, count = _solve_level(levels0[level], levels1[level], u1, u2, params)
        iterations += count
        if level > 0:
            h, w = sizes[level - 1]
            scale = _f32(1.0 / step)
            u1 = cv2.resize(u1, (w, h), interpolation=cv2.INTER_LINEAR) * scale
            u2 = cv2.resize(u2, (w, h), interpolation=cv2.INTER_LINEAR) * scale
    flow = np.stack([u1, u2], axis=-1)
    if not _all_finite(flow):
        raise TVL1InputError("TV-L1 produced non-finite flow")
    return PairResult(flow=flow, iterations=iterations)


def _solve_level(i0, i1, u1, u2, p: TVL1Params):
    """OpenCV's ``procOneScale``: all warps of one level; returns (u1, u2, inner iterations)."""
    import cv2

    rows, cols = i0.shape
    threshold = _f32(p.epsilon * p.epsilon * (rows * cols))
    l_t, taut, theta = _f32(p.lambda_ * p.theta), _f32(p.tau / p.theta), _f32(p.theta)
    i1x, i1y = _centered_gradient(i1)
    duals = [np.zeros((rows, cols), np.float32) for _ in range(4)]
    map_x, map_y = np.empty_like(i0), np.empty_like(i0)
    grad, rho_c = np.empty_like(i0), np.empty_like(i0)
    err_row = np.empty(cols, np.float32)
    median = p.median_filtering if p.median_filtering > 1 else 0
    u1, u2 = np.ascontiguousarray(u1), np.ascontiguousarray(u2)
    count = 0
    for _ in range(p.warps):
        _flow_map(u1, u2, map_x, map_y)
        i1w = cv2.remap(i1, map_x, map_y, cv2.INTER_CUBIC)
        i1wx = cv2.remap(i1x, map_x, map_y, cv2.INTER_CUBIC)
        i1wy = cv2.remap(i1y, map_x, map_y, cv2.INTER_CUBIC)
        _grad_rho(i0, i1w, i1wx, i1wy, u1, u2, grad, rho_c)
        error = FLT_MAX
        outer = 0
        while error > threshold and outer < p.outer_iterations:
            if median:
                u1 = cv2.medianBlur(u1, median)
                u2 = cv2.medianBlur(u2, median)
            error, done = _iterate(u1, u2, *duals, i1wx, i1wy, grad, rho_c, l_t, theta, taut, threshold,
                                   p.inner_iterations, err_row)
            count += done
            outer += 1
    return u1, u2, count


def _as_float(frame) -> np.ndarray:
    array = np.asarray(frame)
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return np.ascontiguousarray(array, dtype=np.float32) * np.float32(255.0)
    raise TVL1InputError(f"frames must be uint8, or float in [0, 1], got {array.dtype}")


# -- many pairs ---------------------------------------------------------------------------------
_CV2_THREADS = threading.Lock()
_cv2_users = 0  # tvl1_pairs calls in progress (they may overlap in a threaded caller)
_cv2_before = 1  # OpenCV's thread count before the first of them


@contextmanager
def _opencv_single_threaded() -> Iterator[None]:
    """OpenCV's own calls run on one thread inside ours (our threads take whole pairs).

    Counted, so that overlapping calls from several threads restore the caller's setting once, at the end.
    """
    import cv2

    global _cv2_users, _cv2_before
    with _CV2_THREADS:
        if _cv2_users == 0:
            _cv2_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _cv2_users += 1
    try:
        yield
    finally:
        with _CV2_THREADS:
            _cv2_users -= 1
            if _cv2_users == 0:
                cv2.setNumThreads(_cv2_before)


def tvl1_pairs(frames0, frames1, params: TVL1Params = DEFAULTS, *, threads: int = 1) -> list[PairResult]:
    """TV-L1 for each pair (``frames0[i]``, ``frames1[i]``), ``threads`` pairs at a time."""
    if len(frames0) != len(frames1):
        raise TVL1InputError(f"{len(frames0)} first frames but {len(frames1)} second frames")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    with _opencv_single_threaded():
        if threads == 1 or len(frames0) < 2:
            return [tvl1_pair(a, b, params) for a, b in zip(frames0, frames1)]
        with ThreadPoolExecutor(max_workers=min(threads, len(frames0))) as pool:
            return list(pool.map(lambda pair: tvl1_pair(*pair, params), zip(frames0, frames1)))


def tvl1_video(grey: np.ndarray, params: TVL1Params = DEFAULTS, *, threads: int = 1) -> np.ndarray:
    """Flow [T - 1, H, W, 2] between consecutive frames of uint8 grey [T, H, W]."""
    results = tvl1_pairs(grey[:-1], grey[1:], params, threads=threads)
    out = np.empty((len(results), *grey.shape[1:], 2), np.float32)
    for t, result in enumerate(results):
        out[t] = result.flow
    return out
