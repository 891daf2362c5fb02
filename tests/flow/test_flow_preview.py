"""`kinetics flow --preview`: a clip's stored flow in the Middlebury colour coding beside its RGB frames."""

from __future__ import annotations

import contextlib
import io

import av
import numpy as np
import pytest
from numbered_media import add_clip
from PIL import Image

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.flow.colour_wheel import MIN_SCALE_PIXELS, colour_wheel, flow_to_colour, wheel_legend

FRAMES = 9
SIZE = {"width": 96, "height": 64}
RIGHT, LEFT, STILL = "rightright0_000000_000010", "leftleftlef_000000_000010", "stillstills_000000_000010"


def run_cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, moving_clip):
    """Clips sliding right, sliding left, and one without flow; DIS flow computed by `kinetics flow` for two."""
    root = tmp_path_factory.mktemp("preview") / "corpus"
    records = [add_clip(root, moving_clip(dx=dx, dy=0, frames=FRAMES), clip_id=clip_id, split="train", label="abseiling",
                        label_index=0, fps=25.0, frames=FRAMES, **SIZE)
               for clip_id, dx in ((RIGHT, 3), (LEFT, -3))]
    CorpusIndex(root).record_clips(records)
    code, _ = run_cli("flow", "--root", str(root), "--method", "dis")
    assert code == 0
    still = add_clip(root, moving_clip(dx=1, dy=1, frames=FRAMES), clip_id=STILL, split="train", label="abseiling",
                     label_index=0, fps=25.0, frames=FRAMES, **SIZE)
    CorpusIndex(root).record_clips([still])  # recorded after the flow run: no flow
    return root


def test_the_colour_wheel_is_middleburys():
    wheel = colour_wheel()
    assert wheel.shape == (55, 3) and tuple(wheel[0]) == (255, 0, 0)  # 15 + 6 + 4 + 11 + 13 + 6 hues, from red
    one = lambda u, v, **kw: tuple(int(c) for c in flow_to_colour(np.array([[[u, v]]], np.float32), **kw)[0, 0])
    assert one(1, 0, max_flow=1) == (255, 0, 0)  # right: red
    r, g, b = one(0, 1, max_flow=1)  # down: orange-yellow
    assert r == 255 and 150 < g < 255 and b == 0
    r, g, b = one(-1, 0, max_flow=1)  # left: cyan
    assert r == 0 and g > 150 and b == 255
    r, g, b = one(0, -1, max_flow=1)  # up: blue-violet
    assert b == 255 and g == 0 and r < 128
    assert one(0, 0, max_flow=1) == (255, 255, 255)  # still: white
    assert one(0.5, 0, max_flow=1) == (255, 127, 127)  # half speed: half saturation
    assert one(2, 0, max_flow=1) == (191, 0, 0)  # beyond the scale: darker
    assert one(float("nan"), 0, max_flow=1) == (0, 0, 0)
    assert one(0.05, 0) == one(0.05, 0, max_flow=MIN_SCALE_PIXELS)
    legend = wheel_legend(33)
    assert tuple(legend[16, 16]) == (255, 255, 255) and tuple(legend[16, 32]) != (255, 255, 255)


def test_preview_frames_colour_the_known_motion(corpus):
    from kinetics.flow import preview_frames

    right = preview_frames(corpus, RIGHT, count=4)
    left = preview_frames(corpus, LEFT, count=4)
    assert right.method == "dis" and right.indices == (0, 2, 5, 7) and right.fps == 25.0
    assert right.rgb.shape == (4, 64, 96, 3) and right.flow_colour.shape == (4, 64, 96, 3)
    for frames, hue in ((right, "red"), (left, "cyan")):
        inner = frames.flow_colour[:, 12:-12, 12:-12].reshape(-1, 3).astype(int)
        r, g, b = np.median(inner, axis=0)
        assert (r > g + 40 and r > b + 40) if hue == "red" else (b > r + 40 and g > r + 40), (hue, r, g, b)
    assert 2.0 < right.scale_pixels < 4.5  # 3 px per frame
    grey = right.rgb.astype(int).std(axis=-1).mean()
    assert grey < 3 and right.rgb.mean() > 20  # the texture is grey: the RGB frames decoded, and in colour order


def test_the_cli_writes_a_png_strip(corpus, tmp_path):
    out = tmp_path / "right.png"
    code, err = run_cli("flow", "--root", str(corpus), "--preview", RIGHT, "--out", str(out), "--preview-fields", "5")
    assert code == 0 and err == ""
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[1] > 2 * image.shape[0]  # a strip
    red = (image[..., 0] > 200) & (image[..., 1] < 120) & (image[..., 2] < 120)
    assert red.sum() > 2000  # the rightward flow, drawn red


def test_the_cli_writes_an_mp4_of_every_field(corpus, tmp_path):
    out = tmp_path / "left.mp4"
    code, err = run_cli("flow", "--root", str(corpus), "--preview", LEFT, "--out", str(out))
    assert code == 0, err
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == FRAMES - 1 and frames[0].shape == (64, 192, 3)  # RGB | flow, one frame per field
    flow_half = np.stack(frames)[:, 12:-12, 96 + 12 : -12].reshape(-1, 3).astype(int)
    r, g, b = np.median(flow_half, axis=0)
    assert b > r + 40 and g > r + 40  # leftward: cyan


def test_clear_errors_name_the_clip(corpus, tmp_path):
    code, err = run_cli("flow", "--root", str(corpus), "--preview", STILL, "--out", str(tmp_path / "x.png"))
    assert code == 1 and STILL in err and "no ok flow" in err and "kinetics flow --root" in err
    code, err = run_cli("flow", "--root", str(corpus), "--preview", RIGHT, "--method", "farneback", "--out", str(tmp_path / "x.png"))
    assert code == 1 and "no ok farneback flow" in err and "stored methods: dis" in err
    code, err = run_cli("flow", "--root", str(corpus), "--preview", "nosuchclip_000000_000010", "--out", str(tmp_path / "x.png"))
    assert code == 1 and "nosuchclip_000000_000010 is not in the index" in err
    code, err = run_cli("flow", "--root", str(corpus), "--preview", RIGHT, "--out", str(tmp_path / "x.gif"))
    assert code == 1 and ".png or .mp4" in err
    code, err = run_cli("flow", "--root", str(corpus), "--preview", RIGHT)
    assert code == 2 and "--out" in err
    assert not list(tmp_path.iterdir())  # nothing half-written
