"""One unreadable Parquet part of the index: every command names it; ``audit --quarantine`` moves it aside.

The clips whose rows it held become pending again; every other row, and every file, is kept.
"""

from __future__ import annotations

import json

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex, IndexPartError


@pytest.fixture
def damaged(corpus):
    """Three ok clips, each recorded in its own part; the part holding the third one is then cut short."""
    rows = [corpus.target("train", "abseiling") for _ in range(3)]
    corpus.commit_targets()
    parts = []
    for row in rows:
        corpus.ok(row)
        parts.append(max(corpus.index.clips.parts(), key=lambda p: p.stat().st_mtime_ns))
    bad = set(corpus.index.clips.parts()) - set(parts[:2])
    (bad_part,) = bad
    data = bad_part.read_bytes()
    bad_part.write_bytes(data[: len(data) // 2])
    return corpus, rows, bad_part


def test_reading_names_the_unreadable_part(damaged, capsys):
    corpus, _, bad_part = damaged
    with pytest.raises(IndexPartError) as info:
        CorpusIndex(corpus.root).clip_state()
    assert [p for p, _ in info.value.parts] == [bad_part]
    assert str(bad_part) in str(info.value) and "--quarantine" in str(info.value)
    for argv in (["status", "--root", str(corpus.root)], ["audit", "--root", str(corpus.root)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert str(bad_part) in err and "Traceback" not in err, err


def test_audit_quarantine_moves_it_aside_and_its_clips_become_pending(damaged, capsys):
    corpus, rows, bad_part = damaged
    assert main(["audit", "--root", str(corpus.root), "--quarantine", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    moved = corpus.root / "index" / "quarantine" / "clips" / bad_part.name
    assert out["quarantined"] == [str(moved)] and moved.is_file() and not bad_part.exists()
    assert out["audit"]["targets"] == 3 and out["audit"]["ok"] == 2
    state = CorpusIndex(corpus.root).clip_state().to_pylist()
    assert sorted(r["clip_id"] for r in state) == sorted(r["clip_id"] for r in rows[:2])
    assert all((corpus.root / corpus.relpath(r)).is_file() for r in rows)  # no file lost; the third is adoptable
    assert out["audit"]["adoptable"] == 1
    assert main(["status", "--root", str(corpus.root)]) == 0
    capsys.readouterr()
    assert main(["audit", "--root", str(corpus.root), "--quarantine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["quarantined"] == []  # nothing more to move
