"""Dual TV-L1 optical flow in batched PyTorch, faithful to OpenCV's CPU ``DualTVL1OpticalFlow``.

A port of ``opencv_contrib/modules/optflow/src/tvl1flow.cpp`` (see the study in
``shared/notes/tvl1.md``): same pyramid (bilinear, factor ``scale_step``, sizes rounded, no
smoothing), same bicubic warp (Keys A = -0.75, zero outside the image), same 5x5 median, same
thresholding and Chambolle dual steps in the same float order, and the same stopping rule, kept
per pair. A batch holds B frame pairs of one size; every operation runs on the batch at once, on
whatever device the frames are on. Pairs stop independently (a finished pair is frozen by a mask
and compacted out of the batch), so a pair gets the same flow alone or in a batch. On the CPU the
iteration core is bit-identical to OpenCV (one scale, one warp, early stopping off); more warps
add the bicubic warp's float rounding (~1e-3 px), and with default parameters the stopping rule
turns that into ~0.01 px mean end-point error: the algorithm itself is that sensitive (tvl1.md
section 5), so no implementation that is not bit-identical in every operation does better.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kinetics.flow.params import TVL1Params, pyramid_sizes

FLT_EPSILON = 1.1920928955078125e-07  # std::numeric_limits<float>::epsilon()
CUBIC_A = -0.75  # OpenCV's bicubic kernel


@dataclass(frozen=True)
class TVL1Result:
    """Flow [B, H, W, 2] float32 (x right, y down, pixels) and inner iterations run per pair."""

    flow: torch.Tensor
    iterations: torch.Tensor


def tvl1_flow(
    frames0: torch.Tensor,
    frames1: torch.Tensor,
    *,
    params: TVL1Params = TVL1Params(),
    sync_every: int | None = None,
    compiled: bool = False,
) -> TVL1Result:
    """TV-L1 flow from ``frames0[b]`` to ``frames1[b]`` for a batch of grey frames [B, H, W].

    uint8 frames are used as 0..255; float frames are multiplied by 255, as OpenCV does (so they
    must be in [0, 1]). ``sync_every`` is how many iterations run between checks of the stopping
    rule on the host (default 1 on the CPU, 10 on a GPU); it changes speed, never the result.
    ``compiled`` fuses the inner iteration with ``torch.compile`` (worth it on a GPU; the first
    call compiles for tens of seconds).
    """
    if frames0.shape != frames1.shape or frames0.dim() != 3:
        raise ValueError(f"frames must be two [B, H, W] tensors of one shape, got {tuple(frames0.shape)} and {tuple(frames1.shape)}")
    if min(frames0.shape[1:]) < 3:
        raise ValueError(f"frames must be at least 3x3 pixels, got {tuple(frames0.shape[1:])}")
    if params.gamma != 0:
        raise ValueError("the PyTorch TV-L1 does not implement the illumination term (gamma); use gamma=0")
    if sync_every is not None and sync_every < 1:
        raise ValueError(f"sync_every must be >= 1, got {sync_every}")
    sync = sync_every or (1 if frames0.device.type == "cpu" else 10)
    step = _compiled_step() if compiled else _step
    images0, images1 = _as_float(frames0), _as_float(frames1)
    sizes = pyramid_sizes(images0.shape[1], images0.shape[2], scale_step=params.scale_step, nscales=params.nscales)
    levels0, levels1 = [images0], [images1]
    for size in sizes[1:]:
        levels0.append(downsample(levels0[-1], size, scale_step=params.scale_step))
        levels1.append(downsample(levels1[-1], size, scale_step=params.scale_step))

    batch = images0.shape[0]
    iterations = torch.zeros(batch, dtype=torch.int64, device=images0.device)
    u1 = torch.zeros((batch, *sizes[-1]), dtype=torch.float32, device=images0.device)
    u2 = torch.zeros_like(u1)
    for level in range(len(sizes) - 1, -1, -1):
        u1, u2 = _solve_level(levels0[level], levels1[level], u1, u2, params, iterations, sync=sync, step=step)
        if level > 0:
            u1 = upsample_flow(u1, sizes[level - 1], scale_step=params.scale_step)
            u2 = upsample_flow(u2, sizes[level - 1], scale_step=params.scale_step)
    return TVL1Result(flow=torch.stack([u1, u2], dim=-1), iterations=iterations)


# -- pyramid -------------------------------------------------------------------------------------
def downsample(images: torch.Tensor, size: tuple[int, int], *, scale_step: float) -> torch.Tensor:
    """``cv2.resize(img, None, fx=s, fy=s, INTER_LINEAR)`` on [B, H, W]: samples at (i + 0.5) / s - 0.5.

    Passing the scale (not only the size) is what matches OpenCV; the ratio of rounded sizes is not.
    """
    out = torch.ops.aten.upsample_bilinear2d(images[:, None], list(size), False, scale_step, scale_step)
    return out[:, 0]


def upsample_flow(u: torch.Tensor, size: tuple[int, int], *, scale_step: float) -> torch.Tensor:
    """One flow component to the next finer level: bilinear resize to ``size``, times 1 / scale_step."""
    resized = F.interpolate(u[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return resized * (1.0 / scale_step)


# -- image operators (OpenCV's, on [B, H, W]) -------------------------------------------------------
def centered_gradient(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Half central differences; half the one-sided difference on the border rows and columns."""
    padded = F.pad(image[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    dx = 0.5 * (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2])
    dy = 0.5 * (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1])
    return dx, dy


def forward_gradient(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences, 0 on the last column (x) and the last row (y)."""
    dx = F.pad(u[:, :, 1:] - u[:, :, :-1], (0, 1))
    dy = F.pad(u[:, 1:, :] - u[:, :-1, :], (0, 0, 0, 1))
    return dx, dy


def divergence(v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
    """Backward-difference divergence with the field taken as 0 outside, in OpenCV's float order."""
    div = (v1 - F.pad(v1[:, :, :-1], (1, 0))) + (v2 - F.pad(v2[:, :-1, :], (0, 0, 1, 0)))
    div[:, 1:, 0] = (v1[:, 1:, 0] + v2[:, 1:, 0]) - v2[:, :-1, 0]  # OpenCV adds before subtracting here
    return div


def median_filter(u: torch.Tensor, size: int) -> torch.Tensor:
    """``cv2.medianBlur`` on float [B, H, W]: exact median of a size x size window, replicated border."""
    radius = size // 2
    padded = F.pad(u[:, None], (radius, radius, radius, radius), mode="replicate")[:, 0]
    windows = padded.unfold(1, size, 1).unfold(2, size, 1)  # [B, H, W, size, size]
    return windows.reshape(*u.shape, size * size).median(dim=-1).values


def cubic_weights(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """OpenCV's ``interpolateCubic``: weights of the taps at -1, 0, +1, +2 for a fraction ``t``."""
    a = CUBIC_A
    t1 = t + 1
    w0 = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    s = 1 - t
    w2 = ((a + 2) * s - (a + 3)) * s * s + 1
    return w0, w1, w2, 1 - w0 - w1 - w2


def warp_bicubic(images: torch.Tensor, map_x: torch.Tensor, map_y: torch.Tensor) -> torch.Tensor:
    """``cv2.remap(INTER_CUBIC, BORDER_CONSTANT 0)`` of [B, C, H, W] at float maps [B, H, W].

    A 16-tap gather on a copy with one ring of zeros: taps outside the image are clamped into
    that ring, so they read 0 exactly as OpenCV's constant border does.
    """
    batch, channels, height, width = images.shape
    padded = F.pad(images, (1, 1, 1, 1)).reshape(batch, channels, (height + 2) * (width + 2))
    fx, fy = torch.floor(map_x), torch.floor(map_y)
    wx, wy = cubic_weights(map_x - fx), cubic_weights(map_y - fy)
    ix = fx.clamp(-3, width + 1).to(torch.int64)
    iy = fy.clamp(-3, height + 1).to(torch.int64)
    out = torch.zeros((batch, channels, height * width), dtype=images.dtype, device=images.device)
    for j in range(4):
        row = ((iy + (j - 1)).clamp(-1, height) + 1) * (width + 2)
        acc = torch.zeros_like(out)
        for i in range(4):
            index = (row + (ix + (i - 1)).clamp(-1, width) + 1).reshape(batch, 1, height * width)
            taps = torch.gather(padded, 2, index.expand(batch, channels, height * width))
            acc = acc + taps * wx[i].reshape(batch, 1, height * width)
        out = out + acc * wy[j].reshape(batch, 1, height * width)
    return out.reshape(batch, channels, height, width)


# -- one pyramid level ----------------------------------------------------------------------------
@dataclass
class _Warped:
    """What stays fixed during one warp: I1 warped by the current flow, its gradient, rho's constant
    part, and the thresholding step's products with lambda * theta."""

    i1wx: torch.Tensor
    i1wy: torch.Tensor
    grad: torch.Tensor
    rho_c: torch.Tensor
    lt_grad: torch.Tensor
    lt_ix: torch.Tensor
    lt_iy: torch.Tensor

    def select(self, keep: torch.Tensor) -> "_Warped":
        return _Warped(*(value[keep] for value in vars(self).values()))


def _warp(i0, i1, i1x, i1y, u1, u2, *, l_t: float) -> _Warped:
    _, height, width = i0.shape
    xs = torch.arange(width, dtype=torch.float32, device=i0.device)
    ys = torch.arange(height, dtype=torch.float32, device=i0.device)[:, None]
    warped = warp_bicubic(torch.stack([i1, i1x, i1y], dim=1), xs + u1, ys + u2)
    i1w, i1wx, i1wy = warped.unbind(1)
    grad = i1wx * i1wx + i1wy * i1wy
    rho_c = i1w - i1wx * u1 - i1wy * u2 - i0
    return _Warped(i1wx, i1wy, grad, rho_c, l_t * grad, l_t * i1wx, l_t * i1wy)


def inner_step(state: tuple[torch.Tensor, ...], warped: _Warped, *, theta: float, taut: float):
    """One inner iteration (thresholding, primal and dual steps) for every pair of the batch.

    ``state`` is (u1, u2, p11, p12, p21, p22); returns the new state and the per-pair error
    (the squared change of u summed over pixels).
    """
    u1, u2, p11, p12, p21, p22 = state
    ix, iy, grad = warped.i1wx, warped.i1wy, warped.grad
    rho = warped.rho_c + (ix * u1 + iy * u2)
    below, above = rho < -warped.lt_grad, rho > warped.lt_grad
    fi = torch.where(grad > FLT_EPSILON, -rho / grad, 0.0)
    d1 = torch.where(below, warped.lt_ix, torch.where(above, -warped.lt_ix, fi * ix))
    d2 = torch.where(below, warped.lt_iy, torch.where(above, -warped.lt_iy, fi * iy))
    new_u1 = (u1 + d1) + theta * divergence(p11, p12)
    new_u2 = (u2 + d2) + theta * divergence(p21, p22)
    error = ((new_u1 - u1) * (new_u1 - u1) + (new_u2 - u2) * (new_u2 - u2)).sum(dim=(1, 2))
    u1x, u1y = forward_gradient(new_u1)
    u2x, u2y = forward_gradient(new_u2)
    ng1 = 1.0 + taut * torch.hypot(u1x, u1y)
    ng2 = 1.0 + taut * torch.hypot(u2x, u2y)
    state = (new_u1, new_u2, (p11 + taut * u1x) / ng1, (p12 + taut * u1y) / ng1, (p21 + taut * u2x) / ng2, (p22 + taut * u2y) / ng2)
    return state, error


def _step(state, fixed: _Warped, active: torch.Tensor, *, theta: float, taut: float, masked: bool):
    """``inner_step``, leaving the pairs that are not ``active`` unchanged when ``masked``."""
    stepped, error = inner_step(state, fixed, theta=theta, taut=taut)
    if masked:
        keep = active[:, None, None]
        stepped = tuple(torch.where(keep, new, old) for new, old in zip(stepped, state))
    return stepped, error


@functools.cache
def _compiled_step():
    return torch.compile(_step, dynamic=True, fullgraph=True)


def _solve_level(i0, i1, u1, u2, params: TVL1Params, iterations: torch.Tensor, *, sync: int, step):
    """All warps of one pyramid level; returns the refined (u1, u2) and counts iterations per pair.

    The batch runs in lockstep; OpenCV's per-pair control flow is kept with an ``active`` mask
    (checked on the host every ``sync`` iterations). Finished pairs are compacted out of the
    sub-batch: at once when checking every iteration (then no mask is ever needed), else once
    at most half are left.
    """
    f32 = lambda value: float(torch.tensor(value, dtype=torch.float32))  # noqa: E731 - OpenCV's static_cast<float>
    l_t, taut, theta = f32(params.lambda_ * params.theta), f32(params.tau / params.theta), f32(params.theta)
    threshold = f32(params.epsilon * params.epsilon * (i0.shape[1] * i0.shape[2]))
    i1x, i1y = centered_gradient(i1)
    p = [torch.zeros_like(u1) for _ in range(4)]  # p11, p12, p21, p22: zeroed once per level
    median = params.median_filtering if params.median_filtering > 1 else 0
    budget = params.outer_iterations * params.inner_iterations
    masked = sync > 1
    for _ in range(params.warps):
        fixed = _warp(i0, i1, i1x, i1y, u1, u2, l_t=l_t)
        full = [u1, u2, *p]
        state = tuple(full)
        index = torch.arange(u1.shape[0], device=u1.device)  # pairs of the full batch still in the sub-batch
        active = torch.ones(u1.shape[0], dtype=torch.bool, device=u1.device)
        for n in range(budget):
            if median and n % params.inner_iterations == 0:  # the start of an outer iteration
                smoothed = (median_filter(state[0], median), median_filter(state[1], median))
                if masked:
                    keep = active[:, None, None]
                    smoothed = tuple(torch.where(keep, new, old) for new, old in zip(smoothed, state[:2]))
                state = (*smoothed, *state[2:])
            state, error = step(state, fixed, active, theta=theta, taut=taut, masked=masked)
            iterations.index_add_(0, index, active.to(torch.int64))
            active = active & (error > threshold)
            if (n + 1) % sync == 0:
                still = int(active.sum())
                if still == 0:
                    break
                if still < len(index) and (not masked or 2 * still <= len(index)):
                    for buffer, value in zip(full, state):
                        buffer[index] = value
                    state = tuple(value[active] for value in state)
                    fixed, index, active = fixed.select(active), index[active], active[active]
        for buffer, value in zip(full, state):
            buffer[index] = value
        u1, u2, p = full[0], full[1], full[2:]
    return u1, u2


def _as_float(frames: torch.Tensor) -> torch.Tensor:
    if frames.dtype == torch.uint8:
        return frames.to(torch.float32)
    if frames.is_floating_point():
        return frames.to(torch.float32) * 255.0
    raise ValueError(f"frames must be uint8 or float in [0, 1], got {frames.dtype}")
