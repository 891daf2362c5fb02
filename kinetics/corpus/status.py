"""How far a corpus has got: per split ok / missing / failed / pending, and the ETA of what is left.

Read from the index alone (no file is touched), so it is instant on a 650,000-clip corpus and safe
to run while a download is writing. The ETA uses the rate of recent attempts (their
``finished_at`` stamps), not the average since the first run, which a pause would distort.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kinetics.corpus.index import CorpusIndex
from kinetics.errors import CorpusError
from kinetics.corpus.split_names import check_split
from kinetics.progress import format_duration

#: columns of the joined target/state table that status and audit work from
STATE_COLUMNS = ["clip_id", "status", "reason", "message", "path", "bytes", "duration", "attempts", "source", "finished_at"]
TARGET_COLUMNS = ["clip_id", "youtube_id", "time_start", "time_end", "label", "label_index", "split", "version"]


@dataclass(frozen=True)
class SplitStatus:
    split: str
    targets: int
    ok: int
    missing: dict[str, int]  # reason -> clips
    failed: dict[str, int]
    pending: int
    extra: int  # clips recorded in the index that were never asked for

    @property
    def availability(self) -> float | None:
        return self.ok / self.targets if self.targets else None

    def as_dict(self) -> dict:
        return {**asdict(self), "availability": self.availability}


@dataclass(frozen=True)
class CorpusStatus:
    root: Path
    splits: tuple[SplitStatus, ...]
    total: SplitStatus
    rate_per_minute: float | None  # attempts per minute over the recent window
    eta_seconds: float | None  # for the pending clips, at that rate
    last_activity: datetime | None
    window_minutes: float

    def as_dict(self) -> dict:
        return {
            "root": str(self.root),
            "splits": [s.as_dict() for s in self.splits],
            "total": self.total.as_dict(),
            "rate_per_minute": self.rate_per_minute,
            "eta_seconds": self.eta_seconds,
            "last_activity": self.last_activity,
            "window_minutes": self.window_minutes,
        }

    def format(self) -> str:
        lines = [f"{'split':<14}{'targets':>10}{'ok':>10}{'missing':>10}{'failed':>10}{'pending':>10}{'available':>11}"]
        for row in (*self.splits, self.total):
            share = "-" if row.availability is None else f"{100 * row.availability:.1f}%"
            lines.append(
                f"{row.split:<14}{row.targets:>10,}{row.ok:>10,}{sum(row.missing.values()):>10,}"
                f"{sum(row.failed.values()):>10,}{row.pending:>10,}{share:>11}"
            )
        for word, counts in (("missing", self.total.missing), ("failed", self.total.failed)):
            if counts:
                lines.append(f"{word} by reason: " + ", ".join(f"{r} {n:,}" for r, n in _by_count(counts)))
        if self.total.extra:
            lines.append(f"{self.total.extra:,} recorded clips are not in the corpus manifest")
        if self.rate_per_minute:
            lines.append(
                f"rate {self.rate_per_minute:.1f} clips/min (last {self.window_minutes:g} min of activity); "
                f"ETA {format_duration(self.eta_seconds)} for {self.total.pending:,} pending clips; "
                f"last activity {self.last_activity:%Y-%m-%d %H:%M:%S} UTC"
            )
        elif self.total.pending:
            lines.append(f"{self.total.pending:,} clips pending; no download activity recorded to estimate an ETA")
        return "\n".join(lines)


def corpus_status(
    root: str | os.PathLike,
    *,
    split: str | None = None,
    window_minutes: float = 15.0,
) -> CorpusStatus:
    """Per-split totals of a corpus and the ETA of its pending clips, from the index alone."""
    index = CorpusIndex(root)
    if not index.exists():
        raise CorpusError(f"no corpus index under {index.root} (expected {index.layout.index_dir}); run kinetics download first")
    split = check_split(index, split) if split else None  # a mistyped split: an error listing the known ones
    joined = targets_with_state(index, split)
    splits = tuple(_split_status(joined, name) for name in sorted(set(joined.column("split").to_pylist())))
    total = _merge("total", splits)
    rate, last = recent_rate(index, split=split, window_minutes=window_minutes)
    eta = 60.0 * total.pending / rate if rate else None
    return CorpusStatus(index.root, splits, total, rate, eta, last, window_minutes)


def targets_with_state(index: CorpusIndex, split: str | None = None) -> pa.Table:
    """Every clip asked for or recorded, with its latest state (null status: pending).

    Column ``is_target`` tells targets from recorded clips that were never asked for. When the
    corpus recorded no targets at all (an older index), every recorded clip counts as a target.
    """
    targets = index.target_table(split).select(TARGET_COLUMNS)
    state = index.clip_state(split, columns=STATE_COLUMNS + TARGET_COLUMNS[1:])
    if targets.num_rows == 0:
        return state.append_column("is_target", pa.array([True] * state.num_rows, pa.bool_()))
    renamed = state.rename_columns([c if c in STATE_COLUMNS else f"_state_{c}" for c in state.column_names])
    marked = targets.append_column("_target", pa.array([True] * targets.num_rows, pa.bool_()))
    joined = marked.join(renamed, keys="clip_id", join_type="full outer", coalesce_keys=True)
    for column in TARGET_COLUMNS[1:]:
        merged = pc.coalesce(joined.column(column), joined.column(f"_state_{column}").cast(joined.schema.field(column).type))
        joined = joined.set_column(joined.schema.get_field_index(column), column, merged)
    is_target = pc.fill_null(joined.column("_target"), False)
    keep = TARGET_COLUMNS + STATE_COLUMNS[1:]
    return joined.select(keep).append_column("is_target", is_target)


def recent_rate(index: CorpusIndex, *, split: str | None = None, window_minutes: float = 15.0) -> tuple[float | None, datetime | None]:
    """Attempts per minute over the last ``window_minutes`` of recorded activity, and when that was."""
    where = pc.field("source") != "audit"  # audit --fix records are bookkeeping, not download work
    if split:
        where = where & (pc.field("split") == split)
    stamps = index.clips.read(["finished_at"], where).column("finished_at")
    if len(stamps) < 2:
        return None, (stamps[0].as_py() if len(stamps) else None)
    last = pc.max(stamps).as_py()
    start = last - timedelta(minutes=window_minutes)
    recent = pc.filter(stamps, pc.greater(stamps, pa.scalar(start, stamps.type)))
    first = max(pc.min(stamps).as_py(), start)
    span_seconds = (last - first).total_seconds()
    if span_seconds <= 0:
        return None, last
    return 60.0 * len(recent) / span_seconds, last


def _split_status(joined: pa.Table, split: str) -> SplitStatus:
    rows = joined.filter(pc.equal(joined.column("split"), split))
    targets = rows.filter(rows.column("is_target"))
    status = targets.column("status")
    return SplitStatus(
        split=split,
        targets=targets.num_rows,
        ok=pc.sum(pc.equal(status, "ok")).as_py() or 0,
        missing=_reasons(targets, "missing"),
        failed=_reasons(targets, "failed"),
        pending=status.null_count,
        extra=rows.num_rows - targets.num_rows,
    )


def _reasons(table: pa.Table, status: str) -> dict[str, int]:
    subset = table.filter(pc.equal(table.column("status"), status))
    counts = pc.value_counts(pc.fill_null(subset.column("reason"), "unknown"))
    return dict(_by_count({c["values"].as_py(): c["counts"].as_py() for c in counts}))


def _merge(name: str, splits: tuple[SplitStatus, ...]) -> SplitStatus:
    def add(dicts):
        merged: dict[str, int] = {}
        for d in dicts:
            for key, value in d.items():
                merged[key] = merged.get(key, 0) + value
        return dict(_by_count(merged))

    return SplitStatus(
        split=name,
        targets=sum(s.targets for s in splits),
        ok=sum(s.ok for s in splits),
        missing=add(s.missing for s in splits),
        failed=add(s.failed for s in splits),
        pending=sum(s.pending for s in splits),
        extra=sum(s.extra for s in splits),
    )


def _by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
