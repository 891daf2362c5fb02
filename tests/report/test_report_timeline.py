"""The timeline finds the hour throttling began; the report leaves pyplot and the backend alone."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pyarrow as pa
from report_media import parse_page

from kinetics.corpus.index import CLIP_SCHEMA, CorpusIndex
from kinetics.report import build_report

T0 = datetime(2026, 2, 1, 6, 0, tzinfo=timezone.utc)
HOURS = [(100, 0), (90, 10), (20, 80), (10, 90)]  # (ok, throttled) per hour: throttling starts in hour 2


def throttled_index(root) -> None:
    rows = []
    for hour, (ok, failed) in enumerate(HOURS):
        for n in range(ok + failed):
            rows.append({"status": "ok" if n < ok else "failed", "reason": None if n < ok else "throttled",
                         "finished_at": T0 + timedelta(hours=hour, seconds=30 * n)})
    count = len(rows)
    columns = {name: [None] * count for name in CLIP_SCHEMA.names}
    columns.update(
        attempt_id=[f"a{i}" for i in range(count)], clip_id=[f"t{i:010d}_000000_000010" for i in range(count)],
        youtube_id=[f"t{i:010d}" for i in range(count)], time_start=[0.0] * count, time_end=[10.0] * count,
        split=["train"] * count, label=["abseiling"] * count, status=[r["status"] for r in rows],
        reason=[r["reason"] for r in rows], source=["youtube"] * count, finished_at=[r["finished_at"] for r in rows],
        path=[f"train/abseiling/t{i:010d}_000000_000010.mp4" if r["status"] == "ok" else None for i, r in enumerate(rows)],
    )
    CorpusIndex(root).clips.append(pa.table(columns, schema=CLIP_SCHEMA))


def test_the_first_hour_most_attempts_failed_is_named_with_its_reason(tmp_path):
    throttled_index(tmp_path / "corpus")
    pyplot_before = "matplotlib.pyplot" in sys.modules
    import matplotlib

    backend = dict.__getitem__(matplotlib.rcParams, "backend")  # as set; get_backend() would import pyplot to resolve it
    summary = build_report(tmp_path / "corpus", tmp_path / "r.html", audit=False, strip_classes=0)
    values = dict(parse_page(summary.out).tables["timeline-summary"][1:])
    assert values["attempts recorded"] == "400" and values["hours with attempts"] == "4"
    assert values["first busy hour where most attempts failed"] == "2026-02-01 08:00:00+00:00 UTC (80% failed, mostly throttled)"
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before
