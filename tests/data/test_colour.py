"""YUV 4:2:0 -> [-1, 1] RGB: the compiled kernel, the NumPy fallback, and the colour science both follow."""

from __future__ import annotations

import numpy as np
import pytest

from kinetics.data.colour import Coefficients, convert_frame, yuv420_to_unit_rgb
from kinetics.data.transforms import CropBox

# (FFmpeg colour space code, full range): BT.601 (unspecified), BT.709, BT.2020, and full-range JPEG
STREAMS = [(2, False), (1, False), (9, False), (5, True)]
KR_KB = {2: (0.299, 0.114), 1: (0.2126, 0.0722), 9: (0.2627, 0.0593), 5: (0.299, 0.114)}


def planes(rng, height=48, width=80, padding=16):
    """Whole planes as a decoder hands them over: rows padded past the picture's width."""
    y = rng.integers(0, 256, (height, width + padding), dtype=np.uint8)
    u = rng.integers(0, 256, (height // 2, (width + padding) // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (height // 2, (width + padding) // 2), dtype=np.uint8)
    return y, u, v


def reference(y, u, v, box, colorspace, full_range, hflip):
    """Textbook float64 Y'CbCr -> R'G'B' (ITU-R BT.601/709/2020), then [0, 255] -> [-1, 1], clipped."""
    kr, kb = KR_KB[colorspace]
    kg = 1 - kr - kb
    rows, cols = slice(box.top, box.top + box.height), slice(box.left, box.left + box.width)
    luma = y[rows, cols].astype(np.float64)
    cb = np.repeat(np.repeat(u.astype(np.float64), 2, 0), 2, 1)[rows, cols] - 128
    cr = np.repeat(np.repeat(v.astype(np.float64), 2, 0), 2, 1)[rows, cols] - 128
    if not full_range:
        luma, cb, cr = (luma - 16) * 255 / 219, cb * 255 / 224, cr * 255 / 224
    red = luma + 2 * (1 - kr) * cr
    blue = luma + 2 * (1 - kb) * cb
    green = (luma - kr * red - kb * blue) / kg
    rgb = np.clip(np.stack([red, green, blue]) / 127.5 - 1, -1, 1)
    return rgb[..., ::-1] if hflip else rgb


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "numpy"])
@pytest.mark.parametrize("colorspace,full_range", STREAMS)
@pytest.mark.parametrize("hflip", [False, True])
def test_matches_the_textbook_conversion(compiled, colorspace, full_range, hflip):
    if compiled:
        pytest.importorskip("numba")
    y, u, v = planes(np.random.default_rng(colorspace))
    box = CropBox(6, 10, 36, 64)
    out = np.full((3, box.height, box.width), np.nan, np.float32)
    convert_frame(y, u, v, box, out, Coefficients.for_stream(colorspace, full_range), hflip=hflip, compiled=compiled)
    expected = reference(y, u, v, box, colorspace, full_range, hflip)
    assert np.abs(out - expected).max() < 2e-6  # float32 rounding only
    assert out.min() == -1 and out.max() == 1  # random planes go out of gamut: clipped


def test_kernel_and_numpy_agree_bit_for_bit():
    pytest.importorskip("numba")
    rng = np.random.default_rng(7)
    for colorspace, full_range in STREAMS:
        y, u, v = planes(rng, height=64, width=96, padding=32)
        c = Coefficients.for_stream(colorspace, full_range)
        for box in (CropBox(0, 0, 64, 96), CropBox(2, 30, 60, 62), CropBox(10, 4, 2, 2)):
            for hflip in (False, True):
                fast, slow = (np.empty((3, box.height, box.width), np.float32) for _ in range(2))
                convert_frame(y, u, v, box, fast, c, hflip=hflip, compiled=True)
                convert_frame(y, u, v, box, slow, c, hflip=hflip, compiled=False)
                assert np.array_equal(fast, slow), (colorspace, box, hflip)


def test_whole_window_helper_converts_every_frame():
    rng = np.random.default_rng(3)
    y = rng.integers(16, 236, (5, 32, 48), dtype=np.uint8)
    u = rng.integers(16, 241, (5, 16, 24), dtype=np.uint8)
    v = rng.integers(16, 241, (5, 16, 24), dtype=np.uint8)
    rgb = yuv420_to_unit_rgb(y, u, v, colorspace=1)
    assert rgb.shape == (3, 5, 32, 48)
    for t in (0, 4):
        expected = reference(y[t], u[t], v[t], CropBox(0, 0, 32, 48), 1, False, False)
        assert np.abs(rgb[:, t].numpy() - expected).max() < 2e-6


def test_boxes_the_kernel_cannot_read_safely_are_refused():
    y, u, v = planes(np.random.default_rng(0), height=32, width=64, padding=0)
    c = Coefficients.for_stream(1, False)
    with pytest.raises(ValueError, match="even offsets"):
        convert_frame(y, u, v, CropBox(1, 0, 8, 8), np.empty((3, 8, 8), np.float32), c)
    with pytest.raises(ValueError, match="does not fit"):
        convert_frame(y, u, v, CropBox(0, 60, 8, 8), np.empty((3, 8, 8), np.float32), c)
    with pytest.raises(ValueError, match="does not fit"):  # chroma planes smaller than the luma says
        convert_frame(y, u[:4], v[:4], CropBox(16, 0, 8, 8), np.empty((3, 8, 8), np.float32), c)
    with pytest.raises(ValueError, match="output must be float32"):
        convert_frame(y, u, v, CropBox(0, 0, 8, 8), np.empty((3, 8, 6), np.float32), c)


def test_without_numba_the_numpy_path_is_used_and_asking_for_the_kernel_says_why(monkeypatch):
    from kinetics.data import colour
    from kinetics.errors import MissingDependencyError

    y, u, v = planes(np.random.default_rng(1))
    box, c = CropBox(0, 0, 48, 80), Coefficients.for_stream(1, False)
    expected = np.empty((3, 48, 80), np.float32)
    convert_frame(y, u, v, box, expected, c, compiled=False)
    monkeypatch.setattr(colour, "_kernel", lambda: None)  # as when numba does not import
    out = np.empty_like(expected)
    convert_frame(y, u, v, box, out, c)
    assert np.array_equal(out, expected)
    with pytest.raises(MissingDependencyError, match="numba"):
        convert_frame(y, u, v, box, out, c, compiled=True)


@pytest.mark.parametrize("tags,expected", [
    ([], (2, False)),  # untagged: BT.601 limited range, as swscale assumes
    (["-colorspace", "bt709", "-color_range", "tv"], (1, False)),
    (["-colorspace", "bt709", "-color_range", "pc"], (1, True)),
])
def test_coefficients_follow_the_file_tags(tmp_path, tags, expected):
    av = pytest.importorskip("av")
    from kinetics.ffmpeg import run_ffmpeg

    path = tmp_path / "tagged.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "2", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", *tags, str(path)])
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    assert Coefficients.for_frame(frame) == Coefficients.for_stream(*expected)
