"""`kinetics predict` / `kinetics.predict`: top classes of video files, one result per file, bad files named."""

from __future__ import annotations

import json

import pytest
import torch

import kinetics
from kinetics.cli.main import main
from kinetics.models.i3d import I3D
from kinetics.training.predict import _pieces, predict_videos

SMALL = {"short_side_pixels": None, "crop_pixels": 32, "device": "cpu"}
SMALL_FLAGS = ["--short-side-pixels", "none", "--crop-pixels", "32", "--device", "cpu"]


@pytest.fixture(scope="module")
def named_checkpoint(tmp_path_factory):
    """A random 3-class RGB model saved with its class names beside the state dict."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "named.pt"
    torch.save({"state_dict": I3D(3).state_dict(), "classes": ["left", "right", "still"]}, path)
    return path


def run_json(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["predict", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_several_files_give_one_result_each_and_a_bad_file_is_named(clip_factory, named_checkpoint, tmp_path, capsys):
    good = clip_factory(seconds=0.8, width=48, height=32, audio=False)
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    code, report, err = run_json(capsys, str(good), str(tmp_path / "missing.webm"), str(not_video), str(good),
                                 "--checkpoint", str(named_checkpoint), "--top", "2", *SMALL_FLAGS)
    assert code == 1
    results = report["videos"]
    assert [r["ok"] for r in results] == [True, False, False, True]
    assert "missing.webm: no such file" in results[1]["error"] and str(not_video) in results[2]["error"]
    assert "missing.webm" in err and "notes.mp4" in err
    first = results[0]
    assert first["frames"] == 20 and first["streams"] == ["rgb"] and first["window_seconds"] == [0.0, 0.8]
    assert [t["rank"] for t in first["top"]] == [1, 2]
    assert {t["label"] for t in first["top"]} <= {"left", "right", "still"}
    assert first["top"][0]["probability"] >= first["top"][1]["probability"] > 0
    assert first["top"] == results[3]["top"]  # the same file gives the same answer


def test_the_python_api_matches_the_model_on_the_whole_clip_and_pieces_average_per_time_logits(clip_factory, named_checkpoint):
    from kinetics.data.decoding import read_rgb
    from kinetics.data.transforms import center_crop_box

    video = clip_factory(seconds=1.6, width=48, height=32, audio=False)  # 40 frames at 25 fps
    (whole,) = kinetics.predict_videos(video, named_checkpoint, top=3, **SMALL)
    model = I3D.from_pretrained(named_checkpoint)
    assert model.classes == ("left", "right", "still")
    with torch.inference_mode():
        logits = model(read_rgb(video, range(40), box=center_crop_box(32, 48, 32, align=2))[None])[0]
    assert [t.index for t in whole.top] == logits.argsort(descending=True).tolist()
    assert whole.top[0].logit == pytest.approx(float(logits.max()), rel=1e-5)
    assert whole.top[0].name == model.classes[whole.top[0].index]
    (pieces,) = predict_videos(video, named_checkpoint, top=3, chunk_frames=16, **SMALL)  # 16 + 24 frames
    assert pieces.ok and pieces.frames == 40 and pieces.top[0].logit != pytest.approx(whole.top[0].logit, rel=1e-6)
    assert _pieces(0, 40, 16) == [(0, 16), (16, 40)] and _pieces(0, 40, 0) == [(0, 40)]


def test_a_window_takes_only_that_part_and_one_past_the_end_is_an_error(clip_factory, named_checkpoint, capsys):
    video = clip_factory(seconds=2.0, width=48, height=32, audio=False)
    (part,) = predict_videos(video, named_checkpoint, window=(0.4, 1.2), **SMALL)
    assert part.ok and part.frames == 20 and (part.start_seconds, part.end_seconds) == (0.4, 1.2)
    code, report, _ = run_json(capsys, str(video), "--checkpoint", str(named_checkpoint), "--window", "5", "6",
                                 *SMALL_FLAGS)
    assert code == 1 and "starts after the video ends (2.00 s)" in report["videos"][0]["error"]
    assert main(["predict", str(video), "--checkpoint", str(named_checkpoint), "--window", "3", "1"]) == 1
    assert "0 <= START < END" in capsys.readouterr().err


def test_a_two_stream_pair_computes_flow_and_adds_the_streams_logits(clip_factory, tmp_path):
    video = clip_factory(seconds=0.6, width=48, height=32, audio=False)
    torch.manual_seed(1)
    rgb, flow = tmp_path / "rgb.pt", tmp_path / "flow.pt"
    torch.save(I3D(4).state_dict(), rgb)
    torch.save(I3D(4, in_channels=2).state_dict(), flow)
    (both,) = predict_videos(video, rgb, flow_checkpoint=flow, top=4, flow_method="dis", **SMALL)
    (alone,) = predict_videos(video, rgb, top=4, **SMALL)
    (flow_only,) = predict_videos(video, flow, top=4, flow_method="dis", **SMALL)
    assert both.streams == ("rgb", "flow") and flow_only.streams == ("flow",)
    fused = {t.index: t.logit for t in alone.top}
    for label in flow_only.top:
        fused[label.index] += label.logit
    assert {t.index: pytest.approx(t.logit, rel=1e-4, abs=1e-4) for t in both.top} == fused
    assert both.top[0].name == f"class {both.top[0].index}"  # a plain state dict does not name its classes


def test_predict_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--window START END" in out and "deepmind_rgb_scratch" in out
