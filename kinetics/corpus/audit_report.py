"""What an audit found, in forms people and programs read: a table, JSON, and a missing-clips file.

One ``ClipIssue`` per clip that is not usable (missing, failed, pending, or ok in the index but
broken on disk); counts per split and per class (worst classes first); files on disk the index
does not know. ``write_missing`` gives the issues as CSV or Parquet with stable columns.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from kinetics.files import atomic_output
from kinetics.errors import KineticsError

ISSUE_COLUMNS = ["clip_id", "youtube_id", "label", "split", "status", "reason", "message", "path", "time_start", "time_end"]


@dataclass(frozen=True)
class ClipIssue:
    """A target clip that is not usable. ``status``: missing | failed | pending | broken."""

    clip_id: str
    youtube_id: str
    time_start: float
    time_end: float
    split: str
    label: str | None
    label_index: int
    status: str
    reason: str  # a Reason value, "pending", or a clipcheck problem for broken files
    message: str | None = None
    path: str | None = None  # relative to the root, for broken files
    attempts: int = 0
    version: str | None = None


@dataclass(frozen=True)
class DiskFile:
    """A file under a split directory that no ok index row points to."""

    path: str  # relative to the root
    split: str
    bytes: int
    clip_id: str | None  # when the name parses as a clip id
    matches_target: bool  # a manifest clip of that split that is not ok in the index
    valid: bool | None = None  # decoded cleanly (checked only for files that match a target)
    message: str | None = None


@dataclass(frozen=True)
class SplitAudit:
    split: str
    targets: int
    ok: int
    missing: dict[str, int]
    failed: dict[str, int]
    pending: int
    broken: dict[str, int]  # problem -> clips ok in the index but bad on disk
    extra_ok: int  # healthy clips in the index that the manifest did not ask for

    @property
    def availability(self) -> float | None:
        return self.ok / self.targets if self.targets else None


@dataclass(frozen=True)
class ClassAudit:
    label: str
    targets: int
    ok: int
    missing: int
    failed: int
    pending: int
    broken: int

    @property
    def availability(self) -> float:
        return self.ok / self.targets if self.targets else 1.0


@dataclass(frozen=True)
class AuditReport:
    root: Path
    deep: bool
    splits: tuple[SplitAudit, ...]
    classes: tuple[ClassAudit, ...]  # worst availability first
    issues: tuple[ClipIssue, ...]
    unknown_files: tuple[DiskFile, ...]
    temp_files: tuple[str, ...]  # leftover .part files of interrupted writes
    ok_clips: pa.Table = field(repr=False)  # clip_id, youtube_id, time_start, time_end, label, label_index, split, version
    adoptable: tuple = ()  # ClipCheck of valid unknown files matching a target, for --fix

    @property
    def targets(self) -> int:
        return sum(s.targets for s in self.splits)

    @property
    def ok(self) -> int:
        return sum(s.ok for s in self.splits)

    @property
    def availability(self) -> float | None:
        return self.ok / self.targets if self.targets else None

    def broken(self) -> list[ClipIssue]:
        return [issue for issue in self.issues if issue.status == "broken"]

    def as_dict(self, *, issues: bool = False) -> dict:
        data = {
            "root": str(self.root),
            "deep": self.deep,
            "targets": self.targets,
            "ok": self.ok,
            "availability": self.availability,
            "splits": [{**asdict(s), "availability": s.availability} for s in self.splits],
            "classes": [{**asdict(c), "availability": c.availability} for c in self.classes],
            "unknown_files": [asdict(f) for f in self.unknown_files],
            "temp_files": list(self.temp_files),
            "adoptable": len(self.adoptable),
        }
        if issues:
            data["issues"] = [asdict(i) for i in self.issues]
        return data

    def format(self, *, worst_classes: int = 10) -> str:
        lines = [f"{'split':<14}{'targets':>10}{'ok':>10}{'missing':>10}{'failed':>10}{'pending':>10}{'broken':>9}{'available':>11}"]
        for s in self.splits:
            share = "-" if s.availability is None else f"{100 * s.availability:.1f}%"
            lines.append(
                f"{s.split:<14}{s.targets:>10,}{s.ok:>10,}{sum(s.missing.values()):>10,}{sum(s.failed.values()):>10,}"
                f"{s.pending:>10,}{sum(s.broken.values()):>9,}{share:>11}"
            )
        for word, attr in (("missing", "missing"), ("failed", "failed"), ("broken files", "broken")):
            merged: dict[str, int] = {}
            for s in self.splits:
                for key, n in getattr(s, attr).items():
                    merged[key] = merged.get(key, 0) + n
            if merged:
                lines.append(f"{word} by reason: " + ", ".join(f"{k} {n:,}" for k, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))))
        worst = [c for c in self.classes if c.ok < c.targets][:worst_classes]
        if worst:
            lines.append(f"worst classes (of {len(self.classes)}):")
            lines += [f"  {c.availability:6.1%}  {c.ok:>7,}/{c.targets:<7,} {c.label}" for c in worst]
        adoptable = sum(1 for f in self.unknown_files if f.matches_target and f.valid)
        stray = len(self.unknown_files) - adoptable
        if adoptable:
            lines.append(f"{adoptable:,} valid files on disk match manifest clips the index does not have as ok (audit --fix adopts them)")
        if stray:
            lines.append(f"{stray:,} other files on disk are unknown to the index (left alone): " + ", ".join(f.path for f in self.unknown_files if not (f.matches_target and f.valid))[:300])
        if self.temp_files:
            lines.append(f"{len(self.temp_files):,} leftover temporary files from interrupted writes (the next download removes them)")
        return "\n".join(lines)

    def write_missing(self, path: str | os.PathLike) -> Path:
        """One row per unusable clip (ISSUE_COLUMNS) as .csv or .parquet, written atomically."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        path = Path(path)
        if path.suffix not in (".csv", ".parquet"):
            raise KineticsError(f"--out must end in .csv or .parquet, got {path}")
        columns = {c: [getattr(i, c) for i in self.issues] for c in ISSUE_COLUMNS}
        schema = pa.schema([(c, pa.float64() if c.startswith("time_") else pa.string()) for c in ISSUE_COLUMNS])
        table = pa.table(columns, schema=schema)
        with atomic_output(path) as temp:
            if path.suffix == ".csv":
                pacsv.write_csv(table, temp)
            else:
                pq.write_table(table, temp)
        return path
