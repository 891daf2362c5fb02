"""A builder for real corpora: MP4s encoded by ffmpeg placed in the layout, records appended with CorpusIndex.

This is the same data a download writes (files + index rows), not a mock of it.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kinetics.corpus.index import ClipRecord, CorpusIndex
from kinetics.manifests.readers import Manifest

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class CorpusBuilder:
    """Targets, files and records of a corpus under ``root``."""

    def __init__(self, root: Path, clip_factory):
        self.root = root
        self.index = CorpusIndex(root)
        self.make = clip_factory
        self.rows: dict[str, dict] = {}
        self._n = 0

    def target(self, split: str, label: str | None, *, start: float = 0, end: float = 2, record_target: bool = True) -> dict:
        """A manifest row (valid 11-character id) remembered for add_targets."""
        self._n += 1
        youtube_id = f"vid{self._n:05d}{'_-'[self._n % 2]}xy"
        row = {"youtube_id": youtube_id, "time_start": start, "time_end": end, "label": label, "split": split}
        manifest = Manifest.from_rows([row], version="400")
        row = {**row, "clip_id": manifest.table.column("clip_id")[0].as_py(), "record_target": record_target}
        self.rows[row["clip_id"]] = row
        return row

    def commit_targets(self) -> None:
        rows = [r for r in self.rows.values() if r["record_target"]]
        manifest = Manifest.from_rows(rows, version="400")
        self.index.add_targets(manifest.table)
        self.classes = manifest.classes

    def relpath(self, row: dict) -> str:
        return self.index.layout.clip_relpath(row["split"], row["label"], row["clip_id"])

    def place(self, row: dict, *, seconds: float = 2.0, relpath: str | None = None) -> Path:
        """Copy a real encoded clip to where the downloader would publish it."""
        path = self.root / (relpath or self.relpath(row))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.make(seconds=seconds, fps=10, width=32, height=24, audio=False), path)
        return path

    def record(self, row: dict, status: str, *, reason: str | None = None, minutes: float = 0.0, **fields) -> ClipRecord:
        index = self.classes.index(row["label"]) if row["label"] and row["label"] in getattr(self, "classes", []) else -1
        stamp = T0 + timedelta(minutes=minutes)
        record = ClipRecord(
            clip_id=row["clip_id"], youtube_id=row["youtube_id"], time_start=row["time_start"], time_end=row["time_end"],
            split=row["split"], label=row["label"], label_index=index, status=status, reason=reason,
            started_at=stamp - timedelta(seconds=5), finished_at=stamp, version="400", **fields,
        )
        self.index.record_clips([record])
        return record

    def ok(self, row: dict, *, seconds: float = 2.0, minutes: float = 0.0, **fields) -> Path:
        """A published file and its ok record (bytes and duration as a download records them)."""
        path = self.place(row, seconds=seconds)
        values = {"bytes": path.stat().st_size, "duration": seconds, "fps": 10.0, "width": 32, "height": 24, **fields}
        self.record(row, "ok", path=self.relpath(row), minutes=minutes, **values)
        return path


@pytest.fixture
def corpus(tmp_path, clip_factory) -> CorpusBuilder:
    return CorpusBuilder(tmp_path / "corpus", clip_factory)
