"""A corpus's fingerprint: its healthy ok clips and labels, in the format of ``kinetics.manifests.fingerprint``.


``Fingerprint.from_file`` reads what another group published; ``compare_fingerprint`` says what we
lack or hold extra, split by split.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pyarrow as pa

from kinetics.corpus.audit_report import AuditReport
from kinetics.manifests.fingerprint import Fingerprint, FingerprintDiff, compare_fingerprints
from kinetics.manifests.sources import cached_classes

__all__ = ["Fingerprint", "FingerprintDiff", "fingerprint_of", "write_fingerprint", "compare_fingerprint"]


def fingerprint_of(report: AuditReport) -> Fingerprint:
    """The healthy ok clips of an audit (what a loader over this corpus would really read)."""
    table = report.ok_clips
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    splits: dict[str, list[tuple[str, str | None]]] = {}
    times = {}
    for clip_id, label, split, start, end in zip(columns["clip_id"], columns["label"], columns["split"], columns["time_start"], columns["time_end"]):
        splits.setdefault(split, []).append((clip_id, label))
        if not (float(start).is_integer() and float(end).is_integer()):
            times[clip_id] = (start, end)
    versions = set(columns["version"]) - {None}
    version = versions.pop() if len(versions) == 1 else None
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Fingerprint({s: tuple(sorted(c)) for s, c in sorted(splits.items())}, version, _class_list(table, version), stamp, times)


def write_fingerprint(report: AuditReport, out: str | os.PathLike) -> Fingerprint:
    """Write the fingerprint of an audited corpus to ``out`` (.json or .json.gz) and return it."""
    fingerprint = fingerprint_of(report)
    fingerprint.write(out)
    return fingerprint


def compare_fingerprint(ours: AuditReport | Fingerprint, theirs: str | os.PathLike | Fingerprint) -> FingerprintDiff:
    """How our corpus differs from someone else's fingerprint, per split."""
    mine = ours if isinstance(ours, Fingerprint) else fingerprint_of(ours)
    other = theirs if isinstance(theirs, Fingerprint) else Fingerprint.from_file(theirs)
    return compare_fingerprints(mine, other)


def _class_list(table: pa.Table, version: str | None) -> tuple[str, ...] | None:
    """The class list label_index refers to: dense in the corpus, or the cached version's list."""
    pairs = {(i, label) for i, label in zip(table.column("label_index").to_pylist(), table.column("label").to_pylist()) if label is not None and i is not None and i >= 0}
    by_index = dict(pairs)
    if pairs and len(by_index) == len(pairs) and sorted(by_index) == list(range(len(by_index))):
        return tuple(by_index[i] for i in range(len(by_index)))
    if version:
        cached = cached_classes(version)
        if cached and all(i < len(cached) and cached[i] == label for i, label in pairs):
            return tuple(cached)
    return None
