"""Flow progress moves inside a clip: frame pairs, not only clips (issue 13, item 14)."""

from __future__ import annotations

import io
import json

from kinetics.corpus.index import CorpusIndex
from kinetics.flow import pair_progress
from kinetics.flow.pair_progress import PairProgress, report_pairs
from kinetics.flow.run import FlowOptions, extract_flow
from kinetics.progress import Progress
from numbered_media import add_clip

FRAMES = 9  # 8 pairs per clip


def test_running_clips_count_until_their_record_arrives(tmp_path):
    shown = []
    with PairProgress(tmp_path / "index", 24, lambda done, total: shown.append((done, total))) as pairs:
        report_pairs(str(pairs.directory), "clip_a", 3)  # this process is the worker here
        assert pairs.done() == 3
        report_pairs(str(pairs.directory), "clip_a", 8)
        pairs.finished("clip_a", 8)
        assert pairs.done() == 8  # counted once: the report of a finished clip is ignored
        report_pairs(str(pairs.directory), "clip_b", 2)
        assert pairs.done() == 10
        directory = pairs.directory
    assert shown[-1] == (10, 24) and not directory.exists()


def test_the_bar_shows_pairs(tmp_path):
    stream = io.StringIO()
    with Progress(2, description="flow", show=True, stream=stream) as progress:
        progress.work(120, 4800, "pair")
    assert "pairs 120/4,800" in stream.getvalue()


def test_a_flow_run_reports_every_pair(tmp_path, moving_clip, monkeypatch):
    monkeypatch.setattr(pair_progress, "POLL_SECONDS", 0.01)
    root = tmp_path / "corpus"
    records = [add_clip(root, moving_clip(dx=1, dy=0, frames=FRAMES), clip_id=f"{c * 11}_000000_000010", split="train",
                        label="abseiling", label_index=0, fps=25.0, frames=FRAMES, width=96, height=64) for c in "ab"]
    CorpusIndex(root).record_clips(records)
    lines = io.StringIO()
    summary = extract_flow(FlowOptions(root=root, split="train", method="dis", batch_size=2, json_progress=lines))
    assert summary.ok == 2
    work = [e for e in map(json.loads, lines.getvalue().splitlines()) if e["event"] == "work"]
    assert work and work[-1] == {"event": "work", "unit": "pair", "done": 16, "total": 16}
    assert all(0 <= e["done"] <= 16 for e in work)
    assert not (root / "index" / pair_progress.PROGRESS_DIR).exists()  # nothing left behind
