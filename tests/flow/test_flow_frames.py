"""The frames flow is computed on are the frames the RGB loader returns: same timing rule, same decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinetics.data.decoding import read_rgb
from kinetics.data.timebase import stored_indices, target_frame_count
from kinetics.errors import CorruptClipError
from kinetics.flow.frames import read_grey_frames
from numbered_media import expected_stored, frame_numbers, make_numbered_clip


def grey_numbers(grey: np.ndarray) -> list[int]:
    """The frame numbers shown by grey uint8 [T, H, W] frames (numbered_media's bands)."""
    rgb = torch.from_numpy(grey).float().div(127.5).sub(1)[None].expand(3, -1, -1, -1)
    return frame_numbers(rgb)


@pytest.mark.parametrize("stored_fps", [25, 30, 24, 50])
def test_frames_at_25_fps_are_the_loaders_frames(tmp_path, stored_fps):
    seconds = 2
    clip = make_numbered_clip(tmp_path / f"n{stored_fps}.mp4", fps=stored_fps, seconds=seconds, gop=12)
    frames = stored_fps * seconds
    grey = read_grey_frames(clip, target_fps=25.0, stored_fps=stored_fps, stored_frames=frames)
    count = target_frame_count(frames, stored_fps, 25.0)
    assert grey.shape == (count, 64, 128) and grey.dtype == np.uint8
    expected = expected_stored(np.arange(count), stored_fps, 25.0)
    assert grey_numbers(grey) == expected
    loader = read_rgb(clip, stored_indices(np.arange(count), stored_fps, 25.0, frames))
    assert frame_numbers(loader) == expected  # the RGB loader picks the very same frames


def test_rate_and_length_are_probed_when_the_index_does_not_say(tmp_path):
    clip = make_numbered_clip(tmp_path / "n30.mp4", fps=30, seconds=1, gop=12)
    grey = read_grey_frames(clip, target_fps=10.0)
    assert grey_numbers(grey) == expected_stored(np.arange(10), 30, 10.0)


def test_past_the_end_repeats_the_last_frame(tmp_path):
    clip = make_numbered_clip(tmp_path / "n25.mp4", fps=25, seconds=1, gop=12)
    grey = read_grey_frames(clip, target_fps=25.0, stored_fps=25.0, stored_frames=27)  # the index says 2 more
    assert grey_numbers(grey)[-4:] == [23, 24, 24, 24]


def test_a_file_that_is_not_a_video_names_itself(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(CorruptClipError, match="bad.mp4"):
        read_grey_frames(bad, target_fps=25.0, stored_fps=25.0, stored_frames=25)
