"""A small real corpus for the report: encoded clips, index rows, DIS flow computed by `kinetics flow`.

train: abseiling 2 ok + 1 missing, archery 1 ok + 1 failed (throttled), juggling balls 1 "ok" clip
whose file is garbage of the recorded size (the shallow audit passes it, decoding fails) + 1 pending
target; val: 1 missing + 1 failed, so no ok clip. Attempts spread over three hours.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

from kinetics.cli.main import main
from kinetics.corpus.index import ClipRecord, CorpusIndex
from kinetics.manifests.readers import Manifest

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SPEC = [  # (split, label, status, reason, minutes)
    ("train", "abseiling", "ok", None, 5),
    ("train", "abseiling", "ok", None, 65),
    ("train", "abseiling", "missing", "unavailable", 70),
    ("train", "archery", "ok", None, 10),
    ("train", "archery", "failed", "throttled", 130),
    ("train", "juggling balls", "garbage", None, 20),
    ("train", "juggling balls", "pending", None, 0),
    ("val", "abseiling", "missing", "private", 125),
    ("val", "archery", "failed", "throttled", 140),
]


def build_corpus(root: Path, clip_factory) -> dict:
    """Write the corpus described above under ``root``; returns {"garbage": clip_id, "ok": [clip_ids]}."""
    rows = [{"youtube_id": f"rep{n:04d}{'_-'[n % 2]}abc", "time_start": 0, "time_end": 2, "label": label, "split": split}
            for n, (split, label, *_rest) in enumerate(SPEC)]
    manifest = Manifest.from_rows(rows, version="400")
    index = CorpusIndex(root)
    index.add_targets(manifest.table)
    ids = manifest.table.column("clip_id").to_pylist()
    classes = manifest.classes
    source = clip_factory(seconds=1.0, fps=25, width=96, height=64, audio=False)
    records, made = [], {"ok": [], "garbage": None}
    for clip_id, row, (split, label, status, reason, minutes) in zip(ids, rows, SPEC):
        if status == "pending":
            continue
        stamp = T0 + timedelta(minutes=minutes)
        common = {"clip_id": clip_id, "youtube_id": row["youtube_id"], "time_start": 0.0, "time_end": 2.0, "split": split,
                  "label": label, "label_index": classes.index(label), "version": "400",
                  "started_at": stamp - timedelta(seconds=4), "finished_at": stamp}
        if status in ("ok", "garbage"):
            rel = index.layout.clip_relpath(split, label, clip_id)
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
            if status == "garbage":
                path.write_bytes(b"\x00garbage" * (path.stat().st_size // 8 + 1))
                made["garbage"] = clip_id
            else:
                made["ok"].append(clip_id)
            records.append(ClipRecord(**common, status="ok", path=rel, bytes=path.stat().st_size, duration=1.0, fps=25.0,
                                      width=96, height=64, frames=25, codec="h264"))
        else:
            records.append(ClipRecord(**common, status=status, reason=reason, message=f"{reason} (test)"))
    index.record_clips(records)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["flow", "--root", str(root), "--split", "train", "--method", "dis"])  # the garbage clip fails
    return made


def cli_json(*argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([*argv, "--json"])
    assert code == 0, f"kinetics {' '.join(argv)} exited {code}"
    return json.loads(out.getvalue())


class PageParser(HTMLParser):
    """Images (src), tables by id (rows of cell text) and the 'not shown' notes of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.notes: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._note: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag == "table":
            self._table = attrs.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "p" and "missing" in (attrs.get("class") or ""):
            self._note = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "p" and self._note is not None:
            self.notes.append("".join(self._note))
            self._note = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._note is not None:
            self._note.append(data)


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser
