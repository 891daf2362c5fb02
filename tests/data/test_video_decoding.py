"""Decoding: the right frames (seeking mid-clip, any order, past the end), the right colours, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinetics.data.decoding import probe_video, read_rgb, torchcodec_decoder
from kinetics.data.transforms import CropBox
from kinetics.errors import CorruptClipError, MissingDependencyError
from numbered_media import frame_numbers


def test_probe_reads_the_header(numbered_clip):
    info = probe_video(numbered_clip(fps=30, seconds=4))
    assert (info.fps, info.frames, info.width, info.height) == (30.0, 120, 128, 64)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize("start", [0, 5, 12, 37, 100])
def test_seeking_mid_clip_returns_exactly_the_asked_frames(numbered_clip, start):
    path = numbered_clip(fps=30, seconds=4, gop=12)  # keyframes every 12 frames, B-frames in between
    wanted = np.arange(start, start + 16)
    assert frame_numbers(read_rgb(path, wanted)) == [min(i, 119) for i in wanted]


def test_any_order_repeats_and_past_the_end(numbered_clip):
    path = numbered_clip(fps=25, seconds=4)
    wanted = [50, 3, 3, 99, 140, 0, 51]
    assert frame_numbers(read_rgb(path, wanted)) == [50, 3, 3, 99, 99, 0, 51]  # past the end: the last frame


def test_crop_is_applied_exactly_for_odd_and_even_boxes(numbered_clip):
    path = numbered_clip(fps=25, seconds=2)
    full = read_rgb(path, [10, 11])
    for box in (CropBox(8, 16, 32, 64), CropBox(7, 13, 31, 61)):
        cropped = read_rgb(path, [10, 11], box=box)
        assert cropped.shape == (3, 2, box.height, box.width) and cropped.is_contiguous()
        window = full[..., box.top : box.top + box.height, box.left : box.left + box.width]
        assert (cropped - window).abs().max() < 0.08  # only chroma rounding near the box's edge may differ


def test_colours_match_ffmpeg_rgb(clip_factory):
    av = pytest.importorskip("av")
    path = clip_factory(seconds=1, fps=25, width=160, height=120, audio=False)
    with av.open(str(path)) as container:
        reference = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)][:8])
    ours = ((read_rgb(path, range(8)) + 1) * 127.5).permute(1, 2, 3, 0).numpy()
    difference = np.abs(ours - reference)
    assert ours.shape == reference.shape
    assert difference.mean() < 1.5 and difference.max() < 8  # swscale's rounding and chroma siting aside
    assert ours.min() >= 0 and ours.max() <= 255


def test_a_broken_file_names_itself(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00garbage" * 64)
    with pytest.raises(CorruptClipError, match="broken.mp4"):
        read_rgb(bad, [0])
    with pytest.raises(CorruptClipError, match="broken.mp4"):
        probe_video(bad)


def test_torchcodec_backend_agrees_or_says_why_not(numbered_clip):
    path = numbered_clip(fps=30, seconds=4)
    try:
        torchcodec_decoder()
    except MissingDependencyError as err:
        assert "torchcodec" in str(err) and "libavcodec" in str(err)
        with pytest.raises(MissingDependencyError):
            read_rgb(path, [0], decoder="torchcodec")
        return
    wanted = [40, 41, 80, 3]
    ours, theirs = read_rgb(path, wanted), read_rgb(path, wanted, decoder="torchcodec")
    assert frame_numbers(theirs) == frame_numbers(ours) == wanted
    assert (ours - theirs).abs().mean() < 0.02


def test_bad_arguments_are_refused(numbered_clip):
    path = numbered_clip(fps=25, seconds=2)
    with pytest.raises(ValueError, match="decoder must be one of"):
        read_rgb(path, [0], decoder="opencv")
    with pytest.raises(CorruptClipError, match="does not fit its 64x128 frames"):
        read_rgb(path, [0], box=CropBox(0, 0, 224, 224))
    with pytest.raises(ValueError, match="non-empty"):
        read_rgb(path, [])
    assert torch.is_tensor(read_rgb(path, np.array([1])))


def test_mirroring_while_decoding_equals_mirroring_after(numbered_clip):
    path = numbered_clip(fps=25, seconds=2)
    for box in (None, CropBox(8, 16, 32, 64), CropBox(7, 13, 31, 61)):
        plain = read_rgb(path, [10, 31], box=box)
        assert torch.equal(read_rgb(path, [10, 31], box=box, hflip=True), plain.flip(-1))


def test_h264_in_avi_starts_at_frame_zero(tmp_path):
    """AVI times H.264 frames from decode order, so the first shown frame sits ticks after 0.

    Frame i is the frame shown at i / fps: the first frame stands in before its own timestamp (no
    error), and later frames follow the container's timestamps (late by the B-frame delay, two
    frames with x264's defaults).
    """
    from numbered_media import make_numbered_clip

    path = make_numbered_clip(tmp_path / "clip.avi", fps=25, seconds=2, gop=12)
    wanted = [0, 1, 2, 25, 49]
    got = frame_numbers(read_rgb(path, wanted))
    assert got[0] == 0 and got == sorted(got)
    assert all(want - 2 <= number <= want for want, number in zip(wanted, got))


def test_output_memory_is_reused_and_every_element_rewritten(numbered_clip):
    path = numbered_clip(fps=25, seconds=4)
    first = read_rgb(path, range(0, 90))  # 3x90x64x128 floats: 8.8 MB, from the reused pool
    address = first.data_ptr()
    del first
    second = read_rgb(path, range(10, 100))
    assert second.data_ptr() == address
    fresh = read_rgb(path, range(10, 100))  # `second` is alive, so this one gets other memory
    assert fresh.data_ptr() != address
    assert torch.equal(second, fresh) and frame_numbers(second) == list(range(10, 100))
