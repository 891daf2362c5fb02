"""``audit --fix``: write what an audit found back into the index, never touching the files.

* A clip the index calls ok whose file vanished or is broken gets a ``failed`` record with reason
  ``corrupt_output`` and a message saying what the audit saw, so a later download retries it.
* A valid file that sits exactly where a not-yet-ok manifest clip belongs is adopted as ``ok``
  (``source="audit"``) with the metadata the audit decoded, so it is not downloaded again.

Files are never deleted or moved: broken and stray files stay for the user to look at, and the
next download of a broken clip replaces its file atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kinetics.corpus.audit_report import AuditReport, ClipIssue
from kinetics.corpus.index import ClipRecord, CorpusIndex
from kinetics.corpus.reasons import Reason


@dataclass(frozen=True)
class ReconcileSummary:
    marked_corrupt: int
    adopted: int
    index_part: Path | None  # the part file the records went to (None when there was nothing to do)


def reconcile(report: AuditReport) -> ReconcileSummary:
    """Append the records described above to the index of ``report.root``; returns what was written."""
    index = CorpusIndex(report.root)
    by_clip = {issue.clip_id: issue for issue in report.issues}
    records = []
    for issue in report.broken():
        records.append(ClipRecord(
            **_identity(issue), status=Reason.CORRUPT_OUTPUT.status, reason=Reason.CORRUPT_OUTPUT.value,
            message=f"audit: {issue.reason}: {issue.message} ({issue.path})",
        ))
    marked = len(records)
    for check in report.adoptable:
        records.append(ClipRecord(
            **_identity(by_clip[check.clip_id]), status="ok",
            message="audit: adopted a valid file the index did not have as ok",
            path=Path(check.path).relative_to(report.root).as_posix(), bytes=check.bytes, duration=check.duration,
            fps=check.fps, width=check.width, height=check.height, frames=check.frames, codec=check.codec,
            has_audio=check.has_audio,
        ))
    part = index.record_clips(records) if records else None
    return ReconcileSummary(marked, len(records) - marked, part)


def _identity(issue: ClipIssue) -> dict:
    """The fields every record written by ``--fix`` copies from the clip's issue."""
    return dict(
        clip_id=issue.clip_id, youtube_id=issue.youtube_id, time_start=issue.time_start, time_end=issue.time_end,
        split=issue.split, label=issue.label, label_index=issue.label_index, attempts=issue.attempts,
        source="audit", version=issue.version,
    )
