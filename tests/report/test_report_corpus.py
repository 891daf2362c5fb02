"""`kinetics report` over a real small corpus: every image decodes, every number matches status and audit."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from report_media import cli_json, parse_page

from kinetics.report import build_report


@pytest.fixture(scope="module")
def report(report_corpus, tmp_path_factory):
    root, made = report_corpus
    out = tmp_path_factory.mktemp("out") / "report.html"
    summary = cli_json("report", "--root", str(root), "--out", str(out))
    return root, made, out, summary, parse_page(out)


def decode(src: str) -> np.ndarray:
    match = re.fullmatch(r"data:image/png;base64,([A-Za-z0-9+/=]+)", src)
    assert match, f"not an embedded PNG: {src[:60]}"
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    image.load()  # decodes every byte: a truncated PNG raises here
    return np.asarray(image)


def test_the_page_is_self_contained_and_every_image_decodes(report):
    _, _, out, summary, page = report
    assert summary["out"] == str(out) and summary["bytes"] == out.stat().st_size
    assert page.external == [] and page.scripts == 0  # nothing fetched, nothing executed
    assert len(page.images) == summary["images"] == 7  # 3 availability, timeline, stored, 2 strips (one clip fails)
    for src in page.images:
        pixels = decode(src)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 50
        assert pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 5  # a drawing, not a blank canvas
    assert summary["sections"] == ["availability", "timeline", "stored", "frames", "fingerprint"]


def test_split_numbers_match_status_and_audit_json(report):
    root, _, _, _, page = report
    status = cli_json("status", "--root", str(root))
    audit = cli_json("audit", "--root", str(root))["audit"]
    rows = {row[0]: row for row in page.tables["splits"][1:]}
    audited = {s["split"]: s for s in audit["splits"]}
    assert set(rows) == {"train", "val", "total"}
    for split in (*status["splits"], status["total"]):
        row = [cell.replace(",", "") for cell in rows[split["split"]]]
        assert row[1:6] == [str(split["targets"]), str(split["ok"]), str(sum(split["missing"].values())),
                            str(sum(split["failed"].values())), str(split["pending"])]
        expected = "-" if split["availability"] is None else f"{100 * split['availability']:.1f}%"
        assert row[6] == expected
    for name, a in audited.items():
        row = [cell.replace(",", "") for cell in rows[name]]
        assert (row[7], row[8]) == (str(a["ok"]), str(sum(a["broken"].values())))
    assert rows["total"][7] == str(audit["ok"])
    # the corpus as built: 9 targets, 4 ok in the index, 4 usable files (the garbage one passes a shallow audit too)
    assert rows["total"][1:3] == ["9", "4"] and rows["total"][7] == "4" and rows["val"][2] == "0"


def test_reasons_classes_and_fingerprint_match_audit(report):
    root, _, _, summary, page = report
    audit = cli_json("audit", "--root", str(root), "--fingerprint", str(root.parent / "fp.json"))
    header, *rows = page.tables["reasons"]
    assert header == ["state: reason", "train", "val", "total"]
    reasons = {row[0]: [int(x) for x in row[1:]] for row in rows}
    assert reasons == {"missing: unavailable": [1, 0, 1], "missing: private": [0, 1, 1], "failed: throttled": [1, 1, 2]}
    status = cli_json("status", "--root", str(root))
    for split in status["splits"]:
        column = header.index(split["split"])
        for word in ("missing", "failed"):
            for reason, n in split[word].items():
                assert reasons[f"{word}: {reason}"][column - 1] == n
    worst = {row[0]: row for row in page.tables["worst-classes"][1:]}
    for c in audit["audit"]["classes"]:
        row = worst[c["label"]]
        assert [int(x) for x in row[1:7]] == [c["targets"], c["ok"], c["missing"], c["failed"], c["pending"], c["broken"]]
    assert (worst["archery"][8], worst["juggling balls"][8]) == ("failed: throttled 2", "pending 1")
    assert summary["digest"] == audit["fingerprint"]["hash"]
    assert summary["counts"] == audit["fingerprint"]["counts"]
    counts = {row[0]: int(row[1]) for row in page.tables["fingerprint-counts"][1:]}
    assert counts == {**audit["fingerprint"]["counts"], "total": sum(audit["fingerprint"]["counts"].values())}


def test_a_split_without_usable_clips_is_called_out(report):
    notes = " ".join(report[4].notes)
    assert "split val has no usable clip: 2 targets, 1 missing, 1 failed, 0 pending, 0 ok in the index" in notes


def test_timeline_counts_every_attempt(report):
    _, _, _, _, page = report
    values = dict(page.tables["timeline-summary"][1:])
    assert values["attempts recorded"] == "8"  # every recorded attempt; the pending target has none
    assert values["hours with attempts"] == "3"
    assert values["first attempt (UTC)"].startswith("2026-03-01 09:05")


def test_stored_clip_figures_come_from_the_index(report):
    page = report[4]
    stats = {row[0]: row for row in page.tables["stored-stats"][1:]}
    assert stats["duration (s)"][1] == "4" and stats["duration (s)"][4] == "1.000"  # 4 ok records (garbage included)
    assert stats["frame rate (fps)"][4] == "25.000" and stats["width (px)"][4] == "96.000"


def test_frame_strips_show_flow_and_name_the_clip_that_does_not_decode(report):
    _, made, _, summary, page = report
    garbage = made["garbage"]
    notes = " ".join(page.notes)
    assert garbage in notes and "could not be shown" in notes and "juggling balls" in notes
    assert any(garbage in line for line in summary["missing"])
    strips = [src for src in page.images][-3:]  # availability/timeline/stored figures come first
    assert len(strips) >= 2


def test_the_python_api_returns_the_same_summary(report_corpus, tmp_path):
    root, _ = report_corpus
    summary = build_report(root, tmp_path / "r.html", strip_classes=0, audit=False)
    assert summary.out.is_file() and summary.digest is None
    assert "frames" not in summary.sections
    assert any("audit was skipped" in line for line in summary.missing)
