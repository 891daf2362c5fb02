"""Compare what a corpus was asked for (manifest), what it recorded (index) and what is on disk.

Every ok clip's file is checked (stat by default; ``deep`` decodes it fully with PyAV, fanned out
over kinetics.executors); files on disk that no ok row points to are listed, and those that sit
exactly where a not-yet-ok manifest clip belongs are decoded so ``--fix`` can adopt them. The
audit only reads; ``kinetics.corpus.reconcile`` writes what it found back to the index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kinetics.corpus.audit_report import AuditReport, ClassAudit, ClipIssue, DiskFile, SplitAudit
from kinetics.corpus.clipcheck import ClipCheck, ClipCheckTask, check_clip
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import RESERVED_TOP_LEVEL, CorpusLayout, safe_split
from kinetics.files import is_temp_name
from kinetics.corpus.status import targets_with_state
from kinetics.errors import CorpusError
from kinetics.executors import EXECUTORS, ExecutorName, Resources, make_executor
from kinetics.corpus.split_names import check_split
from kinetics.manifests.schema import normalise_split, parse_clip_id
from kinetics.progress import Progress

__all__ = ["AuditOptions", "AuditReport", "audit"]



@dataclass(frozen=True)
class AuditOptions:
    root: Path
    split: str | None = None
    deep: bool = False  # decode every clip (slow: use jobs)
    jobs: int = 1
    executor: ExecutorName = "local"
    address: str | None = None  # Ray cluster address
    cpus_per_task: float | None = None  # CPUs a Ray worker reserves for decoding (None: 1)
    tolerance_seconds: float = 0.5  # allowed gap between decoded, recorded and annotated durations
    show_progress: bool | None = None  # None: a bar only when stderr is a terminal

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        if self.tolerance_seconds < 0:
            raise ValueError(f"tolerance_seconds must be >= 0, got {self.tolerance_seconds}")


def audit(options: AuditOptions) -> AuditReport:
    """Audit a corpus root; see the module docstring. Raises CorpusError when there is no corpus."""
    index = CorpusIndex(options.root)
    layout = index.layout
    if not layout.root.is_dir():
        raise CorpusError(f"corpus root {layout.root} does not exist")
    split = safe_split(normalise_split(options.split)) if options.split else None
    split = check_split(index, split)  # a mistyped split: an error listing the known ones, not an empty report
    joined = targets_with_state(index, split)
    on_disk, temp_files = _scan(layout, split)

    ok_rows = joined.filter(pc.fill_null(pc.equal(joined.column("status"), "ok"), False))
    tasks = [_task_for_row(layout.root, row, options, on_disk) for row in ok_rows.select(_TASK_COLUMNS).to_pylist()]
    checks = _run_checks([t for t in tasks if isinstance(t, ClipCheckTask)], options)
    checks.update({t.clip_id: t for t in tasks if isinstance(t, ClipCheck)})  # paths that escape the root
    healthy = {clip_id for clip_id, check in checks.items() if check.ok}

    issues = [_issue(row, checks.get(row["clip_id"])) for row in _unusable_targets(joined, healthy).to_pylist()]
    referenced = set(ok_rows.column("path").to_pylist())
    unknown, adoptable = _unknown_files(layout, on_disk, referenced, issues, options)

    good = ok_rows.filter(pc.is_in(ok_rows.column("clip_id"), value_set=pa.array(sorted(healthy), pa.string())))
    ok_clips = good.select(["clip_id", "youtube_id", "time_start", "time_end", "label", "label_index", "split", "version"])
    return AuditReport(
        root=layout.root,
        deep=options.deep,
        splits=_split_summaries(joined, healthy, issues),
        classes=_class_summaries(joined, healthy, issues),
        issues=tuple(issues),
        unknown_files=tuple(unknown),
        temp_files=tuple(temp_files),
        ok_clips=ok_clips,
        adoptable=tuple(adoptable),
    )


# -- disk ----------------------------------------------------------------------------------------------
def _scan(layout: CorpusLayout, split: str | None) -> tuple[dict[str, int], list[str]]:
    """Files under the split directories: relative path -> size, and leftover temp files."""
    root = str(layout.root)
    tops = [split] if split else sorted(
        e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False) and e.name not in RESERVED_TOP_LEVEL and not e.name.startswith(".")
    )
    files: dict[str, int] = {}
    temps: list[str] = []
    for top in tops:
        if os.path.isdir(os.path.join(root, top)):
            _walk(os.path.join(root, top), top, files, temps)
    return files, sorted(temps)


def _walk(directory: str, prefix: str, files: dict[str, int], temps: list[str]) -> None:
    with os.scandir(directory) as entries:
        for entry in entries:
            rel = f"{prefix}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, rel, files, temps)
            elif is_temp_name(entry.name):
                temps.append(rel)
            elif not entry.name.startswith("."):
                try:
                    files[rel] = entry.stat().st_size
                except OSError:
                    continue


def _unknown_files(layout, on_disk, referenced, issues, options) -> tuple[list[DiskFile], list[ClipCheck]]:
    """Files no ok row points to; those exactly where a not-ok manifest clip belongs are decoded."""
    by_clip = {issue.clip_id: issue for issue in issues}
    candidates = {}
    unknown = []
    for rel, size in sorted(on_disk.items()):
        if rel in referenced:
            continue
        clip_id = _clip_id_of(rel)
        issue = by_clip.get(clip_id) if clip_id else None
        if issue is not None and rel == layout.clip_relpath(issue.split, issue.label, clip_id) and (issue.status != "broken" or issue.path != rel):
            candidates[rel] = (size, issue)
        else:
            unknown.append(DiskFile(rel, rel.split("/", 1)[0], size, clip_id, False))
    tasks = [ClipCheckTask(issue.clip_id, str(layout.root / rel), window_seconds=issue.time_end - issue.time_start,
                           tolerance_seconds=options.tolerance_seconds) for rel, (_, issue) in candidates.items()]
    checks = _run_checks(tasks, options) if tasks else {}
    adoptable = []
    for rel, (size, issue) in candidates.items():
        check = checks[issue.clip_id]
        unknown.append(DiskFile(rel, issue.split, size, issue.clip_id, True, check.ok, check.message))
        if check.ok:
            adoptable.append(check)
    return sorted(unknown, key=lambda f: f.path), adoptable


def _clip_id_of(rel: str) -> str | None:
    stem = Path(rel).stem
    try:
        parse_clip_id(stem)
    except ValueError:
        return None
    return stem


# -- checks --------------------------------------------------------------------------------------------
_TASK_COLUMNS = ["clip_id", "path", "time_start", "time_end", "duration", "bytes"]


def _task_for_row(root: Path, row: dict, options: AuditOptions, on_disk: dict[str, int]) -> ClipCheckTask | ClipCheck:
    rel = row["path"] or ""
    parts = rel.split("/")
    if rel.startswith("/") or "\x00" in rel or "\\" in rel or any(p in ("", ".", "..") for p in parts):
        # index paths are relative, '/'-separated and inside the root (a lexical check: fast on 650k rows)
        return ClipCheck(row["clip_id"], rel, problem="vanished", message=f"index path {rel!r} is not a path inside the root")
    return ClipCheckTask(
        clip_id=row["clip_id"],
        path=f"{root}/{rel}",
        decode=options.deep,
        window_seconds=row["time_end"] - row["time_start"],
        recorded_seconds=row["duration"],
        recorded_bytes=row["bytes"],
        tolerance_seconds=options.tolerance_seconds,
        scanned_bytes=on_disk.get(rel),
    )


def _run_checks(tasks: list[ClipCheckTask], options: AuditOptions) -> dict[str, ClipCheck]:
    """check_clip over tasks: inline when cheap, on the executor (with progress) when decoding."""
    if not tasks:
        return {}
    if not any(t.decode for t in tasks):
        return {t.clip_id: check_clip(t) for t in tasks}
    results: dict[str, ClipCheck] = {}
    resources = Resources(cpus=options.cpus_per_task or 1.0)
    with make_executor(options.executor, jobs=options.jobs, address=options.address, resources=resources, root=options.root) as executor, Progress(
        len(tasks), description="audit", show=options.show_progress
    ) as progress:
        for outcome in executor.map_unordered(check_clip, tasks):
            task = outcome.item
            check = outcome.result if outcome.ok else ClipCheck(task.clip_id, task.path, problem="undecodable", message=f"checker died: {outcome.error!r}")
            results[task.clip_id] = check
            progress.update("ok" if check.ok else "failed")
    return results


# -- summaries -----------------------------------------------------------------------------------------
def _unusable_targets(joined: pa.Table, healthy: set[str]) -> pa.Table:
    is_healthy = pc.is_in(joined.column("clip_id"), value_set=pa.array(sorted(healthy), pa.string()))
    return joined.filter(pc.and_(joined.column("is_target"), pc.invert(is_healthy)))


def _issue(row: dict, check: ClipCheck | None) -> ClipIssue:
    common = dict(
        clip_id=row["clip_id"], youtube_id=row["youtube_id"], time_start=row["time_start"], time_end=row["time_end"],
        split=row["split"], label=row["label"], label_index=row["label_index"] if row["label_index"] is not None else -1,
        attempts=row["attempts"] or 0, version=row["version"],
    )
    if row["status"] is None:
        return ClipIssue(**common, status="pending", reason="pending")
    if row["status"] == "ok":
        return ClipIssue(**common, status="broken", reason=check.problem, message=check.message, path=row["path"])
    return ClipIssue(**common, status=row["status"], reason=row["reason"] or "unknown", message=row["message"])


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _split_summaries(joined: pa.Table, healthy: set[str], issues: list[ClipIssue]) -> tuple[SplitAudit, ...]:
    splits = sorted(set(joined.column("split").to_pylist()))
    clip_ids = joined.column("clip_id").to_pylist()
    split_of = joined.column("split").to_pylist()
    is_target = joined.column("is_target").to_pylist()
    summaries = []
    for split in splits:
        mine = [i for i in issues if i.split == split]
        rows = [(c, t) for c, s, t in zip(clip_ids, split_of, is_target) if s == split]
        summaries.append(SplitAudit(
            split=split,
            targets=sum(1 for _, t in rows if t),
            ok=sum(1 for c, t in rows if t and c in healthy),
            missing=_count(i.reason for i in mine if i.status == "missing"),
            failed=_count(i.reason for i in mine if i.status == "failed"),
            pending=sum(1 for i in mine if i.status == "pending"),
            broken=_count(i.reason for i in mine if i.status == "broken"),
            extra_ok=sum(1 for c, t in rows if not t and c in healthy),
        ))
    return tuple(summaries)


def _class_summaries(joined: pa.Table, healthy: set[str], issues: list[ClipIssue]) -> tuple[ClassAudit, ...]:
    targets = joined.filter(joined.column("is_target"))
    totals = _count(label for label in targets.column("label").to_pylist() if label is not None)
    ok = _count(label for label, c in zip(targets.column("label").to_pylist(), targets.column("clip_id").to_pylist()) if label is not None and c in healthy)
    by_status = {s: _count(i.label for i in issues if i.status == s and i.label is not None) for s in ("missing", "failed", "pending", "broken")}
    classes = [
        ClassAudit(label, n, ok.get(label, 0), *(by_status[s].get(label, 0) for s in ("missing", "failed", "pending", "broken")))
        for label, n in totals.items()
    ]
    return tuple(sorted(classes, key=lambda c: (c.availability, -c.targets, c.label)))
