"""`kinetics evaluate` end to end: a registered checkpoint served over loopback, two-stream fusion, predictions."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch

from kinetics.cli.main import main
from kinetics.models.i3d import I3D
from kinetics.models.ports import to_port
from kinetics.models.registry import get_checkpoint
from tiny_runs import TINY_EVAL_FLAGS


def run_json(capsys, *argv: str) -> dict:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.mark.network_loopback
def test_a_registered_checkpoint_of_other_classes_is_fetched_from_a_mirror_and_refused(motion_corpus, serve, capsys):
    """The 400-class Kinetics checkpoint on a corpus of 3 other classes would score 0% for no reason: refused,
    naming both class lists. (A corpus of Kinetics names is evaluated: tests/training/test_eval_class_lists.py.)"""
    spec = get_checkpoint("i3d_inception.deepmind_rgb_imagenet")
    server = serve()
    torch.manual_seed(0)
    torch.save(to_port(I3D(spec.num_classes).state_dict(), spec.port), server.directory / spec.filename)
    code = main(["evaluate", "--root", str(motion_corpus.root), "--checkpoint", spec.name,
                 "--base-url", server.url("files"), *TINY_EVAL_FLAGS, "--json"])
    captured = capsys.readouterr()
    assert len(server.requests_matching(spec.filename)) == 1
    assert code == 1 and captured.out == ""
    assert "'moving_left'" in captured.err and "'abseiling'" in captured.err and spec.name in captured.err
    assert "0: 'moving_left' vs 'abseiling'" in captured.err  # the first difference


def test_two_stream_evaluation_adds_the_streams_logits(motion_corpus, checkpoint_file, tmp_path, capsys):
    out = tmp_path / "predictions.parquet"
    report = run_json(capsys, "evaluate", "--root", str(motion_corpus.root), "--checkpoint", str(checkpoint_file("rgb")),
                      "--flow-checkpoint", str(checkpoint_file("flow", seed=1)), "--flow-method", "dis",
                      "--predictions", str(out), "--batch-size", "2", *TINY_EVAL_FLAGS)
    assert set(report["metrics"]) == {"rgb", "flow", "two-stream"}
    assert [f["stream"] for f in report["paper"]] == ["rgb", "rgb", "flow", "flow", "two-stream", "two-stream"]
    table = pq.read_table(out).to_pylist()
    assert len({r["clip_id"] for r in table}) == len(table) == motion_corpus.val  # one row per clip
    for row in table:
        fused = torch.tensor(row["logits_rgb"]) + torch.tensor(row["logits_flow"])
        assert torch.allclose(torch.tensor(row["logits_two_stream"]), fused)
        assert row["predicted"] == int(fused.argmax()) and row["label"] in motion_corpus.classes
        assert row["correct"] == (row["predicted"] == row["label_index"])
    two = report["metrics"]["two-stream"]
    assert two["top1"] == sum(r["correct"] for r in table) / len(table)


def test_text_report_names_the_counts_and_the_papers_test_set(motion_corpus, checkpoint_file, capsys):
    assert main(["evaluate", "--root", str(motion_corpus.root), "--checkpoint", str(checkpoint_file("rgb")),
                 "--views", "2", "--crops", "3", "--crop-pixels", "24", "--frames", "8", "--workers", "0",
                 "--short-side-pixels", "none"]) == 0
    text = capsys.readouterr().out
    assert f"{motion_corpus.val} clips evaluated of {motion_corpus.val + 1} targets" in text
    assert "1 missing from this corpus" in text
    assert "2 windows of 8 frames" in text and "3 24x24 crop(s)" in text
    assert "71.1" in text and "held-out test set" in text
    assert f"kinetics report --root {motion_corpus.root}" in text  # where to see the results drawn


def test_a_flow_checkpoint_cannot_pose_as_rgb(motion_corpus, checkpoint_file, capsys):
    assert main(["evaluate", "--root", str(motion_corpus.root), "--checkpoint", str(checkpoint_file("flow")),
                 "--flow-checkpoint", str(checkpoint_file("flow")), *TINY_EVAL_FLAGS]) == 1
    assert "must be RGB" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["train", "evaluate", "transfer", "features"])
def test_every_verb_has_help_with_worked_examples(verb, capsys):
    with pytest.raises(SystemExit) as caught:
        main([verb, "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"\n  kinetics {verb} --" in text
