"""``kinetics status`` over real corpora built with the index API."""

from __future__ import annotations

import json

import pytest

from kinetics.cli.main import main
from kinetics.corpus.status import corpus_status
from kinetics.errors import CorpusError


@pytest.fixture
def progressing(corpus):
    """train: 6 targets (3 ok, 2 missing, 1 failed); val: 4 targets (1 ok, 1 failed, 2 pending)."""
    train = [corpus.target("train", "air drumming" if i % 2 else "abseiling") for i in range(6)]
    val = [corpus.target("val", "abseiling") for _ in range(4)]
    corpus.commit_targets()
    # 10 attempts, one every 2 minutes from t=0 to t=18: a rate of 10 per 18 min over a 30-minute window
    corpus.record(train[0], "failed", reason="throttled", minutes=0, message="HTTP Error 429")
    for i, row in enumerate(train[:3]):
        corpus.record(row, "ok", path=corpus.relpath(row), minutes=2 + 2 * i)  # train[0] retried and ok
    corpus.record(train[3], "missing", reason="unavailable", minutes=8)
    corpus.record(train[4], "missing", reason="private", minutes=10)
    corpus.record(train[5], "failed", reason="throttled", minutes=12)
    corpus.record(val[0], "failed", reason="network", minutes=14)
    corpus.record(val[0], "ok", path=corpus.relpath(val[0]), minutes=16)
    corpus.record(val[1], "failed", reason="network", minutes=18)
    return corpus


def test_counts_reasons_and_eta(progressing):
    status = corpus_status(progressing.root, window_minutes=30)
    train, val = status.splits
    assert (train.split, train.targets, train.ok, train.pending) == ("train", 6, 3, 0)
    assert train.missing == {"private": 1, "unavailable": 1} and train.failed == {"throttled": 1}
    assert (val.targets, val.ok, val.pending, val.failed) == (4, 1, 2, {"network": 1})
    assert status.total.targets == 10 and status.total.ok == 4 and status.total.availability == pytest.approx(0.4)
    assert status.rate_per_minute == pytest.approx(60.0 * 10 / (18 * 60))
    assert status.eta_seconds == pytest.approx(60.0 * 2 / status.rate_per_minute)
    assert status.last_activity.minute == 18


def test_recent_window_ignores_old_activity(progressing):
    status = corpus_status(progressing.root, window_minutes=5)  # attempts at t=14, 16, 18 fall inside (13, 18]
    assert status.rate_per_minute == pytest.approx(3 / 5)


def test_split_filter_and_extra_clips(progressing):
    stray = progressing.target("val", "abseiling", record_target=False)
    progressing.record(stray, "ok", path=progressing.relpath(stray), minutes=20)
    status = corpus_status(progressing.root, split="val")
    (val,) = status.splits
    assert val.targets == 4 and val.extra == 1 and val.ok == 1


def test_index_without_targets_counts_recorded_clips(corpus):
    rows = [corpus.target("train", "abseiling") for _ in range(3)]
    corpus.classes = ["abseiling"]
    corpus.record(rows[0], "ok", path=corpus.relpath(rows[0]))
    corpus.record(rows[1], "missing", reason="copyright", minutes=1)
    status = corpus_status(corpus.root)
    assert (status.total.targets, status.total.ok, status.total.pending, status.total.missing) == (2, 1, 0, {"copyright": 1})


def test_cli_table_and_json(progressing, capsys):
    assert main(["status", "--root", str(progressing.root), "--window-minutes", "30"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["split", "targets", "ok", "missing", "failed", "pending", "available"]
    assert lines[1].split() == ["train", "6", "3", "2", "1", "0", "50.0%"]
    assert lines[3].split() == ["total", "10", "4", "2", "2", "2", "40.0%"]
    assert "missing by reason: private 1, unavailable 1" in out and "ETA" in out
    assert main(["status", "--root", str(progressing.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["pending"] == 2 and data["splits"][1]["failed"] == {"network": 1}


def test_no_corpus_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(CorpusError, match="no corpus index"):
        corpus_status(tmp_path)
    assert main(["status", "--root", str(tmp_path)]) == 1
    assert "no corpus index" in capsys.readouterr().err
