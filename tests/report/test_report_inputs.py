"""Results and runs in the report, and bad input: the report still builds and says what is missing."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from report_media import cli_json, parse_page

from kinetics.corpus.index import ClipRecord, CorpusIndex
from kinetics.report import build_report
from kinetics.training.logbook import Logbook
from kinetics.training.predictions import predictions_table, write_table_atomic

CLASSES = ["abseiling", "archery", "juggling balls"]


def write_predictions(path, *, two_stream: bool = False):
    """12 labelled clips + 1 unlabelled: class 0 always right, class 1 half taken for class 2, class 2 right 3 of 4."""
    labels = torch.tensor([0] * 4 + [1] * 4 + [2] * 4 + [-1])
    predicted = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 0, 1]
    logits = torch.full((13, 3), -1.0)
    for row, p in enumerate(predicted):
        logits[row, p] = 2.0
    streams = {"rgb": logits}
    if two_stream:
        flow = torch.full((13, 3), -1.0)
        flow[:, 0] = 0.5  # the flow stream alone says class 0 for everything
        streams = {"rgb": logits, "flow": flow, "two_stream": logits + flow}
    table = predictions_table(clip_ids=[f"c{i}" for i in range(13)], labels=labels, logits=streams, split="val",
                              class_names=CLASSES)
    return write_table_atomic(table, path)


def test_predictions_add_accuracy_beside_the_paper_per_class_and_confusions(report_corpus, tmp_path):
    root, _ = report_corpus
    predictions = write_predictions(tmp_path / "val.parquet", two_stream=True)
    out = tmp_path / "r.html"
    summary = build_report(root, out, predictions=predictions, strip_classes=0)
    page = parse_page(out)
    assert "results" in summary.sections
    overall = {row[0]: row for row in page.tables["results-overall"][1:]}
    fused = overall["two-stream (the file's prediction)"]
    assert fused[1:4] == ["12", "75.0%", "100.0%"]  # 9 of 12 right; 3 classes, so the label is always in the top 5
    assert fused[4] == f"{100 * (1 + 0.5 + 0.75) / 3:.1f}%"
    assert overall["flow"][2] == f"{100 * 4 / 12:.1f}%" and overall["rgb"][2] == "75.0%"
    html = out.read_text()
    assert all(f"{x}%" in html for x in (74.2, 71.1, 63.4))  # Table 3: two-stream, RGB, flow (ImageNet then Kinetics)
    assert "held-out test set" in html  # and the caveat
    per_class = {row[0]: row[2] for row in page.tables["per-class"][1:]}
    assert per_class == {"archery": "50.0%", "juggling balls": "75.0%", "abseiling": "100.0%"}
    pairs = page.tables["confused-pairs"][1:]
    assert pairs[0] == ["archery", "juggling balls", "2", "50.0%"] and pairs[1] == ["juggling balls", "abseiling", "1", "25.0%"]


def test_a_run_directory_adds_loss_and_accuracy_per_epoch(report_corpus, tmp_path):
    root, _ = report_corpus
    run = tmp_path / "runs" / "rgb"
    with Logbook(run, tensorboard=False, progress=False) as log:
        log.write("start", 0, {"config": {}})
        log.write("train", 2, {"epoch": 0, "loss": 2.0, "clips": 12})
        log.write("train", 4, {"epoch": 0, "loss": 1.0, "clips": 4})
        log.write("val", 4, {"epoch": 0, "loss": 1.5, "top1": 0.25, "clips": 8})
        log.write("train", 6, {"epoch": 1, "loss": 0.5, "clips": 16})
        log.write("val", 6, {"epoch": 1, "loss": 0.9, "top1": 0.5, "clips": 8})
    out = tmp_path / "r.html"
    summary = build_report(root, out, run=run, strip_classes=0)
    page = parse_page(out)
    assert "runs" in summary.sections and not any("Training runs" in line for line in summary.missing)
    rows = page.tables["run-rgb"][1:]
    assert rows == [["0", "1.750", "1.500", "25.0%"], ["1", "0.500", "0.900", "50.0%"]]  # (2*12 + 1*4) / 16 = 1.75


def test_a_transfer_output_directory_shows_each_run_inside(report_corpus, tmp_path):
    root, _ = report_corpus
    for name in ("ucf101-split1-rgb", "ucf101-split2-rgb"):
        with Logbook(tmp_path / "transfer" / name, tensorboard=False, progress=False) as log:
            log.write("train", 1, {"epoch": 0, "loss": 1.0, "clips": 2})
    summary = cli_json("report", "--root", str(root), "--out", str(tmp_path / "r.html"), "--run", str(tmp_path / "transfer"),
                       "--strip-classes", "0", "--no-audit")
    assert summary["sections"][-1] == "runs"
    page = parse_page(tmp_path / "r.html")
    assert {"run-ucf101-split1-rgb", "run-ucf101-split2-rgb"} <= set(page.tables)
    assert any("no validation records" in note for note in page.notes)


@pytest.mark.parametrize("layout", ["no root", "no index", "empty index"])
def test_an_empty_corpus_still_gives_a_report_that_says_so(tmp_path, layout):
    root = tmp_path / "corpus"
    if layout != "no root":
        root.mkdir()
    if layout == "empty index":
        CorpusIndex(root).layout.index_dir.mkdir()
    summary = cli_json("report", "--root", str(root), "--out", str(tmp_path / "r.html"))
    page = parse_page(tmp_path / "r.html")
    text = " ".join(summary["missing"])
    assert ("no corpus index" in text) if layout != "empty index" else ("no clips" in text and "no ok clips" in text)
    assert summary["images"] == len(page.images) == 0
    assert (summary["digest"] is None) == (layout != "empty index")  # an empty index still has an (empty) fingerprint
    assert summary["sections"] == ["availability", "timeline", "stored", "frames", "fingerprint"]


def test_a_corpus_without_any_ok_clip(tmp_path):
    root = tmp_path / "corpus"
    CorpusIndex(root).record_clips([
        ClipRecord(clip_id=f"gone{n:07d}_000000_000010", youtube_id=f"gone{n:07d}", time_start=0.0, time_end=10.0,
                   split="val", status="missing", reason="private", label="archery") for n in range(3)])
    summary = build_report(root, tmp_path / "r.html")
    page = parse_page(summary.out)
    assert page.tables["splits"][1][:3] == ["val", "3", "0"] and page.tables["splits"][1][6] == "0.0%"
    text = " ".join(summary.missing)
    assert "no ok clips in the index" in text and "no ok clips to show frames of" in text
    assert summary.counts == {} and summary.digest  # the fingerprint of an empty corpus is still a digest
    assert len(page.images) == summary.images >= 3  # split chart, reasons, classes, timeline


def test_bad_run_directories_and_prediction_files_are_named(report_corpus, tmp_path):
    root, _ = report_corpus
    empty_run = tmp_path / "empty"
    empty_run.mkdir()
    broken_run = tmp_path / "broken"
    broken_run.mkdir()
    (broken_run / "metrics.jsonl").write_text(json.dumps({"event": "start", "step": 0}) + "\n{\"event\": \"tra")
    not_predictions = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), not_predictions)
    for run, predictions, expected in (
        (empty_run, None, f"no metrics.jsonl in {empty_run}"),
        (tmp_path / "nowhere", None, "does not exist"),
        (broken_run, None, "1 line(s) are not JSON"),
        (None, tmp_path / "missing.parquet", "cannot read predictions"),
        (None, not_predictions, "no column label_index, predicted"),
    ):
        summary = build_report(root, tmp_path / "r.html", run=run, predictions=predictions, strip_classes=0, audit=False)
        assert any(expected in line for line in summary.missing), (expected, summary.missing)
    assert any("no train or val metrics" in line for line in build_report(root, tmp_path / "r.html", run=broken_run,
                                                                        strip_classes=0, audit=False).missing)


def test_unlabelled_predictions_say_there_is_nothing_to_score(report_corpus, tmp_path):
    root, _ = report_corpus
    table = predictions_table(clip_ids=["a", "b"], labels=torch.tensor([-1, -1]), logits={"rgb": torch.zeros(2, 3)},
                              split="test", class_names=CLASSES)
    path = write_table_atomic(table, tmp_path / "test.parquet")
    summary = build_report(root, tmp_path / "r.html", predictions=path, strip_classes=0, audit=False)
    assert any("no labelled clip" in line for line in summary.missing)


def test_out_must_be_html(report_corpus, tmp_path):
    from kinetics.errors import KineticsError

    with pytest.raises(KineticsError, match="must end in .html"):
        build_report(report_corpus[0], tmp_path / "r.pdf")
    assert not np.any([p.suffix == ".pdf" for p in tmp_path.iterdir()])
