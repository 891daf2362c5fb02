"""Window samplers: pure functions of (frame count, options, generator)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinetics.data.sampling import (
    SamplingOptions,
    Window,
    center_window,
    full_window,
    random_window,
    sample_windows,
    uniform_windows,
)


def test_random_window_stays_inside_and_depends_only_on_the_generator():
    starts = set()
    for seed in range(50):
        window = random_window(100, num_frames=64, generator=torch.Generator().manual_seed(seed))
        again = random_window(100, num_frames=64, generator=torch.Generator().manual_seed(seed))
        assert window == again
        assert 0 <= window.start_frame <= 36 and not window.looped
        assert window.indices().tolist() == list(range(window.start_frame, window.start_frame + 64))
        starts.add(window.start_frame)
    assert len(starts) > 10  # it does move


def test_center_window_is_centred():
    assert center_window(250, num_frames=64).start_frame == 93
    assert center_window(64, num_frames=64).start_frame == 0


def test_short_clips_loop_from_the_start():
    for window in (random_window(25, num_frames=64), center_window(25, num_frames=64), full_window(25, min_frames=64)):
        assert window.start_frame == 0 and window.looped
        assert window.indices().tolist() == [i % 25 for i in range(64)]


def test_uniform_windows_span_the_clip():
    windows = uniform_windows(250, num_frames=64, num_clips=5)
    starts = [w.start_frame for w in windows]
    assert starts[0] == 0 and starts[-1] == 250 - 64
    assert np.all(np.diff(starts) > 0)
    gaps = np.diff(starts)
    assert gaps.max() - gaps.min() <= 1
    assert all(w.start_frame == 0 for w in uniform_windows(30, num_frames=64, num_clips=3))


def test_full_window_is_every_frame():
    window = full_window(250)
    assert window.indices().tolist() == list(range(250))
    assert window.start_seconds(25.0) == 0.0


def test_options_dispatch_and_validate():
    assert len(sample_windows(250, SamplingOptions.multi_view(3, num_frames=16))) == 3
    assert sample_windows(250, SamplingOptions.test())[0].num_frames == 250
    assert sample_windows(300, SamplingOptions.full())[0].num_frames == 300
    assert SamplingOptions.multi_view(1).stacked and not SamplingOptions.train().stacked
    with pytest.raises(ValueError, match="sampling mode must be one of"):
        SamplingOptions("middle")
    with pytest.raises(ValueError, match="needs mode='uniform'"):
        SamplingOptions("random", num_clips=2)
    with pytest.raises(ValueError, match="num_frames"):
        SamplingOptions.train(num_frames=0)
    with pytest.raises(ValueError, match="start_frame"):
        Window(10, 4, 10)
