"""The PyTorch TV-L1 against OpenCV's CPU DualTVL1 (the recipe of shared/notes/tvl1.md section 7).

Components against cv2.resize / cv2.remap / cv2.medianBlur; the iteration core exactly (one scale,
one warp, early stopping off); the whole method with default parameters through end-point-error
bounds (the stopping rule makes ~0.01 px the floor for any implementation, so no equality there).
The same tests run on a GPU with ``-m gpu``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from kinetics.flow.methods import TVL1Params
from kinetics.flow.params import pyramid_sizes
from kinetics.flow.tvl1 import downsample, median_filter, tvl1_flow, upsample_flow, warp_bicubic
from moving_media import texture_frames

DEVICES = [pytest.param("cpu"), pytest.param("cuda", marks=pytest.mark.gpu)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def opencv_tvl1(frame0: np.ndarray, frame1: np.ndarray, p: TVL1Params) -> np.ndarray:
    solver = cv2.optflow.DualTVL1OpticalFlow_create(
        p.tau, p.lambda_, p.theta, p.nscales, p.warps, p.epsilon, p.inner_iterations, p.outer_iterations,
        p.scale_step, p.gamma, p.median_filtering, False,
    )
    return solver.calc(frame0, frame1, None)


def torch_tvl1(frame0: np.ndarray, frame1: np.ndarray, p: TVL1Params, device: str = "cpu") -> np.ndarray:
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    pair = [torch.from_numpy(f)[None].to(device) for f in (frame0, frame1)]
    return tvl1_flow(*pair, params=p).flow[0].cpu().numpy()


def end_point_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a - b) ** 2).sum(-1))


@pytest.fixture(scope="module")
def small_pair(cricket_grey) -> tuple[np.ndarray, np.ndarray]:
    return tuple(cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in cricket_grey[10:12])


# -- components ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(256, 340), (48, 64), (120, 160), (21, 37)])
def test_pyramid_matches_cv2_resize_sizes_and_values(size, cricket_grey):
    image = cv2.resize(cricket_grey[5], size[::-1], interpolation=cv2.INTER_LINEAR).astype(np.float32)
    sizes = pyramid_sizes(*size, scale_step=0.8, nscales=6)
    assert sizes[0] == size and all(min(s) >= 16 for s in sizes)
    ours, theirs = torch.from_numpy(image)[None], image
    for level in sizes[1:]:
        theirs = cv2.resize(theirs, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_LINEAR)
        ours = downsample(ours, level, scale_step=0.8)
        assert theirs.shape == level
        assert np.abs(ours[0].numpy() - theirs).max() <= 1e-4
    next_h, next_w = (round(s * 0.8) for s in sizes[-1])
    assert len(sizes) == 6 or min(next_h, next_w) < 16  # stops only where OpenCV stops


def test_flow_upsampling_matches_cv2_resize_times_one_over_step():
    u = np.random.default_rng(0).standard_normal((39, 51)).astype(np.float32) * 5
    theirs = cv2.resize(u, (64, 48), interpolation=cv2.INTER_LINEAR) * np.float32(1 / 0.8)
    ours = upsample_flow(torch.from_numpy(u)[None], (48, 64), scale_step=0.8)[0].numpy()
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def test_bicubic_warp_matches_cv2_remap_inside_and_outside_the_image():
    rng = np.random.default_rng(1)
    image = (rng.random((48, 64)) * 255).astype(np.float32)
    map_x = (np.arange(64)[None, :] + rng.uniform(-12, 12, (48, 64))).astype(np.float32)
    map_y = (np.arange(48)[:, None] + rng.uniform(-12, 12, (48, 64))).astype(np.float32)
    map_x[0, :8] = [-1e4, -3.5, -2.0, -1.25, 63.5, 65.0, 66.9, 1e4]  # far outside and just outside
    theirs = cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ours = warp_bicubic(torch.from_numpy(image)[None, None], torch.from_numpy(map_x)[None], torch.from_numpy(map_y)[None])
    assert np.abs(ours[0, 0].numpy() - theirs).max() <= 1e-3
    assert (theirs != 0).mean() > 0.5  # the maps really sample the image


@pytest.mark.parametrize("size", [3, 5])
def test_median_matches_cv2_median_blur_exactly(size):
    image = np.random.default_rng(2).standard_normal((2, 30, 41)).astype(np.float32)
    ours = median_filter(torch.from_numpy(image), size).numpy()
    for b in range(2):
        assert np.array_equal(ours[b], cv2.medianBlur(image[b], size))


# -- the iteration core, exactly -----------------------------------------------------------------
EXACT = {
    "10 iterations": TVL1Params(epsilon=0, nscales=1, warps=1, median_filtering=1, inner_iterations=10, outer_iterations=1),
    "100 iterations": TVL1Params(epsilon=0, nscales=1, warps=1, median_filtering=1, inner_iterations=100, outer_iterations=1),
    "median 5, 3 outer": TVL1Params(epsilon=0, nscales=1, warps=1, median_filtering=5, inner_iterations=10, outer_iterations=3),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(EXACT))
def test_iteration_core_is_exact_without_early_stopping(name, device, small_pair):
    params = EXACT[name]
    theirs = opencv_tvl1(*small_pair, params)
    ours = torch_tvl1(*small_pair, params, device)
    assert np.abs(theirs).max() > 0.05  # there is motion to get wrong
    assert np.abs(ours - theirs).max() <= (1e-5 if device == "cpu" else 1e-4)


# -- the whole method, default parameters -------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_default_parameters_agree_with_opencv_on_real_frames(device, cricket_grey):
    frame0, frame1 = (cv2.resize(f, (160, 120), interpolation=cv2.INTER_AREA) for f in cricket_grey[40:42])
    theirs = opencv_tvl1(frame0, frame1, TVL1Params())
    ours = torch_tvl1(frame0, frame1, TVL1Params(), device)
    epe = end_point_error(ours, theirs)
    assert np.linalg.norm(theirs, axis=-1).mean() > 0.1  # real motion
    assert epe.mean() <= 0.02
    assert (epe < 0.1).mean() >= 0.98


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("motion", [(4, 2), pytest.param((-3, 5), marks=pytest.mark.slow)])
def test_known_translation_is_recovered(motion, device):
    frames = texture_frames(dx=motion[0], dy=motion[1], frames=2, width=96, height=64)
    ours = torch_tvl1(frames[0], frames[1], TVL1Params(), device)
    theirs = opencv_tvl1(frames[0], frames[1], TVL1Params())
    inner = ours[8:-8, 8:-8]
    assert abs(np.median(inner[..., 0]) - motion[0]) <= 0.01
    assert abs(np.median(inner[..., 1]) - motion[1]) <= 0.01
    assert end_point_error(ours, theirs).mean() <= 0.02


def test_a_pair_gets_the_same_flow_alone_or_in_a_batch(cricket_grey):
    frames = torch.from_numpy(np.stack([cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in cricket_grey[30:34]]))
    params = TVL1Params(nscales=2, warps=2)  # fewer iterations; the stopping rule still ends pairs at different times
    alone = [tvl1_flow(frames[i : i + 1], frames[i + 1 : i + 2], params=params) for i in range(3)]
    for sync_every in (1, 4):  # compacting at once, and masking between host checks
        batch = tvl1_flow(frames[:3], frames[1:4], params=params, sync_every=sync_every)
        assert batch.iterations.tolist() == [a.iterations.item() for a in alone]
        for i in range(3):
            assert torch.equal(batch.flow[i], alone[i].flow[0])
    assert len({a.iterations.item() for a in alone}) > 1  # pairs did stop at different times


def test_inputs_are_checked_and_float_frames_are_scaled_like_opencv(small_pair):
    a, b = (torch.from_numpy(f)[None] for f in small_pair)
    params = EXACT["10 iterations"]
    as_float = tvl1_flow(a.float() / 255, b.float() / 255, params=params).flow
    assert torch.allclose(as_float, tvl1_flow(a, b, params=params).flow, atol=1e-4)
    with pytest.raises(ValueError, match="one shape"):
        tvl1_flow(a, b[:, :-1])
    with pytest.raises(ValueError, match="gamma"):
        tvl1_flow(a, b, params=TVL1Params(gamma=0.1))
    with pytest.raises(ValueError, match="uint8 or float"):
        tvl1_flow(a.to(torch.int32), b.to(torch.int32))


@pytest.mark.slow
def test_compiled_step_gives_the_eager_result(small_pair):
    a, b = (torch.from_numpy(f)[None] for f in small_pair)
    params = TVL1Params(nscales=2, warps=2)
    eager = tvl1_flow(a, b, params=params)
    fused = tvl1_flow(a, b, params=params, compiled=True)
    assert fused.iterations.tolist() == eager.iterations.tolist()
    assert torch.allclose(fused.flow, eager.flow, atol=1e-4)


@pytest.mark.gpu
def test_gpu_batch_of_64_matches_single_pairs_and_compiled(cricket_grey):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    grey = torch.from_numpy(np.stack([cv2.resize(f, (340, 256)) for f in cricket_grey[:65]])).cuda()
    batch = tvl1_flow(grey[:-1], grey[1:])
    for i in (0, 31, 63):
        alone = tvl1_flow(grey[i : i + 1], grey[i + 1 : i + 2])
        assert batch.iterations[i] == alone.iterations[0]
        assert (batch.flow[i] - alone.flow[0]).abs().max() <= 1e-5
    fused = tvl1_flow(grey[:-1], grey[1:], compiled=True)
    epe = (fused.flow - batch.flow).norm(dim=-1)
    assert epe.mean() <= 0.02
