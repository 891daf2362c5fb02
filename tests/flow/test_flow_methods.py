"""compute_flow: every method on known motion, the sign convention, inputs, and parameter checking."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from kinetics.flow.methods import (
    METHODS, DISParams, FarnebackParams, TVL1Params, check_params, compute_flow, default_params, params_from_dict,
    params_to_dict,
)
from moving_media import texture_frames


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_measures_a_known_translation_with_the_convention(method):
    """Frame t + 1 is frame t moved 2 px right and 1 px up: flow is (+2, -1) px (x right, y down)."""
    frames = texture_frames(dx=2, dy=-1, frames=3, width=96, height=64)
    flow = compute_flow(frames, method=method)
    assert flow.shape == (2, 64, 96, 2) and flow.dtype == np.float32
    inner = flow[:, 8:-8, 8:-8]
    assert abs(np.median(inner[..., 0]) - 2) < 0.05
    assert abs(np.median(inner[..., 1]) + 1) < 0.05
    assert np.abs(inner - np.float32([2, -1])).mean() < 0.1


def test_rgb_and_torch_inputs_give_the_grey_result():
    grey = texture_frames(dx=1, dy=1, frames=2, width=64, height=48)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    expected = compute_flow(grey, method="dis")
    assert np.array_equal(compute_flow(rgb, method="dis"), expected)
    assert np.array_equal(compute_flow(torch.from_numpy(grey), method="dis"), expected)
    assert np.array_equal(compute_flow(grey[..., None], method="dis"), expected)


def test_opencv_tvl1_is_fresh_per_call_despite_opencvs_nscales_quirk():
    """OpenCV lowers a TV-L1 object's nscales for good after one small frame: each call must not inherit that."""
    tiny = texture_frames(dx=1, dy=0, frames=2, width=24, height=24)
    frames = texture_frames(dx=6, dy=3, frames=2, width=96, height=64)
    reference = cv2.optflow.DualTVL1OpticalFlow_create().calc(frames[0], frames[1], None)
    compute_flow(tiny, method="tvl1-opencv")
    assert np.array_equal(compute_flow(frames, method="tvl1-opencv")[0], reference)


def test_parameters_reach_the_method():
    frames = texture_frames(dx=3, dy=0, frames=2, width=64, height=48)
    default = compute_flow(frames, method="farneback")
    coarse = compute_flow(frames, method="farneback", params=FarnebackParams(winsize=5, levels=1))
    assert not np.array_equal(default, coarse)
    one_warp = compute_flow(frames, method="tvl1", params=TVL1Params(warps=1, nscales=1, outer_iterations=1))
    assert not np.array_equal(one_warp, compute_flow(frames, method="tvl1"))


@pytest.mark.parametrize(
    "frames, message",
    [
        (np.zeros((1, 8, 8), np.uint8), "at least 2 frames"),
        (np.zeros((2, 8, 8), np.float32), "uint8"),
        (np.zeros((2, 8, 8, 4), np.uint8), r"\[T, H, W\]"),
    ],
)
def test_bad_frames_are_refused(frames, message):
    with pytest.raises(ValueError, match=message):
        compute_flow(frames, method="dis")


def test_methods_and_parameters_are_checked_once_with_the_bad_value_named():
    with pytest.raises(ValueError, match="'raft'"):
        compute_flow(np.zeros((2, 8, 8), np.uint8), method="raft")
    with pytest.raises(TypeError, match="TVL1Params"):
        check_params("tvl1", DISParams())
    with pytest.raises(ValueError, match="gamma"):
        check_params("tvl1-torch", TVL1Params(gamma=0.5))
    for bad in ({"tau": 0.0}, {"nscales": 0}, {"scale_step": 1.0}, {"median_filtering": 4}, {"epsilon": -1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TVL1Params(**bad)
    with pytest.raises(ValueError, match="preset"):
        DISParams(preset="slow")
    with pytest.raises(ValueError, match="poly_n"):
        FarnebackParams(poly_n=3)


@pytest.mark.parametrize("method", METHODS)
def test_parameters_round_trip_through_their_stored_form(method):
    params = default_params(method)
    assert params_from_dict(method, params_to_dict(params)) == params
    with pytest.raises(ValueError, match="unknown"):
        params_from_dict(method, {**params_to_dict(params), "bogus": 1})
