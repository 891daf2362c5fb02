"""Read every official annotation format into the normalised manifest table.

Formats: the Kinetics CSVs (``label,youtube_id,time_start,time_end,split[,is_cc]``, quoted labels,
test files without labels), DeepMind's JSON (``{youtube_id: {annotations: {label, segment},
duration, subset, url}}``) and Parquet (ours, or any table with the CSV's columns). Malformed rows
are reported with file and line and skipped; duplicates are dropped and counted; ``strict=True``
turns any problem into a ManifestError.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kinetics.files import atomic_output
from kinetics.errors import ManifestError
from kinetics.manifests.fastcsv import read_clean_csv
from kinetics.manifests.fingerprint import FINGERPRINT_KIND, GZIP_MAGIC, Fingerprint
from kinetics.manifests.schema import MANIFEST_SCHEMA, clip_id_for, normalise_split, row_problem

REQUIRED_COLUMNS = ("youtube_id", "time_start", "time_end")


@dataclass(frozen=True)
class RowProblem:
    file: str
    line: int | None  # 1-based physical line (CSV) or None (JSON entry, Parquet row)
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: rows read and kept, duplicates dropped, rows rejected (with where)."""

    source: str
    rows_read: int = 0
    rows_kept: int = 0
    duplicates: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "duplicates": self.duplicates,
            "problems": [str(p) for p in self.problems],
        }


@dataclass(frozen=True)
class _RawRow:
    line: int | None
    youtube_id: str
    time_start: str | float
    time_end: str | float
    label: str | None
    split: str | None
    problem: str | None = None  # the source could not even be read as a row (reported with its line)


def _unreadable(line: int | None, youtube_id: str, problem: str) -> _RawRow:
    return _RawRow(line, youtube_id, "", "", None, None, problem)


class Manifest:
    """A validated, normalised manifest (a pyarrow Table in MANIFEST_SCHEMA) and its import report."""

    def __init__(self, table: pa.Table, report: ImportReport | None = None, class_names: list[str] | None = None):
        self.table = table.cast(MANIFEST_SCHEMA) if table.schema != MANIFEST_SCHEMA else table
        self.report = report or ImportReport(source="<table>", rows_read=len(table), rows_kept=len(table))
        self.class_names = class_names

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | os.PathLike, **options) -> "Manifest":
        """Dispatch on the file's contents: Parquet magic, JSON, else CSV."""
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                head = handle.read(4)
            if head[:2] == GZIP_MAGIC:  # .json.gz / .csv.gz: look at what is inside
                with gzip.open(path, "rb") as handle:
                    head = handle.read(64).lstrip(b"\xef\xbb\xbf")[:4]
        except (OSError, EOFError) as err:
            raise ManifestError(f"cannot read manifest: {getattr(err, 'strerror', None) or err}", file=path) from err
        if head == b"PAR1":
            return cls.from_parquet(path, **options)
        if head.lstrip()[:1] in (b"{", b"["):
            return cls.from_json(path, **options)
        return cls.from_csv(path, **options)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, **options) -> "Manifest":
        path = Path(path)
        try:
            data = _read_bytes(path)
            text = data.decode("utf-8-sig")
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise ManifestError(f"cannot read CSV: {err}", file=path) from err
        fast = read_clean_csv(data, version=options.get("version"), split=options.get("split"), classes=options.get("classes"))
        if fast is not None:  # a problem-free file, read in one vectorised pass
            table, duplicates, class_list = fast
            report = ImportReport(str(path), rows_read=table.num_rows + duplicates, rows_kept=table.num_rows, duplicates=duplicates)
            return cls(table, report, class_list)
        return cls._build(_csv_rows(io.StringIO(text, newline=""), str(path)), str(path), **options)

    @classmethod
    def from_json(cls, path: str | os.PathLike, **options) -> "Manifest":
        path = Path(path)
        try:
            data = json.loads(_read_text(path))
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise ManifestError(f"cannot read JSON: {err}", file=path) from err
        except json.JSONDecodeError as err:
            raise ManifestError(f"invalid JSON: {err.msg}", file=path, line=err.lineno) from err
        if isinstance(data, dict) and data.get("kind") == FINGERPRINT_KIND:
            Fingerprint.from_file(path)  # refuses a fingerprint whose content does not match its hash
            if data.get("version"):
                options.setdefault("version", data["version"])
            if data.get("classes"):
                options.setdefault("classes", list(data["classes"]))
            return cls._build(_fingerprint_rows(data, str(path)), str(path), **options)
        if not isinstance(data, dict):
            raise ManifestError("expected an object {youtube_id: {annotations, subset, ...}}", file=path)
        return cls._build(_json_rows(data, str(path)), str(path), **options)

    @classmethod
    def from_parquet(cls, path: str | os.PathLike, **options) -> "Manifest":
        path = Path(path)
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as err:
            raise ManifestError(f"cannot read Parquet: {err}", file=path) from err
        if table.schema.metadata and table.schema.metadata.get(b"kinetics.schema") == b"manifest/1":
            options.setdefault("version", _single_version(table))
        return cls._build(_table_rows(table, str(path)), str(path), **options)

    @classmethod
    def from_rows(cls, rows: Iterable[dict], *, source: str = "<rows>", **options) -> "Manifest":
        raw = (
            _RawRow(i + 1, r["youtube_id"], r["time_start"], r["time_end"], r.get("label"), r.get("split"))
            for i, r in enumerate(rows)
        )
        return cls._build(raw, source, **options)

    @classmethod
    def _build(
        cls,
        rows: Iterable[_RawRow],
        source: str,
        *,
        version: str | None = None,
        split: str | None = None,
        classes: list[str] | None = None,
        strict: bool = False,
    ) -> "Manifest":
        """Validate, deduplicate and index rows. ``split`` fills rows that carry none."""
        report = ImportReport(source=source)
        seen: dict[tuple, str | None] = {}
        ids: dict[str, tuple[int | None, tuple]] = {}  # clip id -> (line, key) of the row that took it
        kept: list[tuple] = []
        for raw in rows:
            report.rows_read += 1
            problem, row = _normalise(raw, split)
            if problem:
                report.problems.append(RowProblem(source, raw.line, problem))
                continue
            key = row[:3]
            if key in seen:
                report.duplicates += 1
                if seen[key] != row[3]:
                    report.problems.append(
                        RowProblem(source, raw.line, f"duplicate of clip {clip_id_for(*key)} with a different label ({seen[key]!r} vs {row[3]!r}); first kept")
                    )
                continue
            clip_id = clip_id_for(*key)
            if clip_id in ids:  # two windows that round to one clip id: one clip would silently vanish
                first_line, first = ids[clip_id]
                where = source if first_line is None else f"{source}:{first_line}"
                report.problems.append(RowProblem(
                    source, raw.line,
                    f"window {key[1]:g}-{key[2]:g} has the same clip id {clip_id} as {where} "
                    f"(window {first[1]:g}-{first[2]:g}); this row is dropped"))
                continue
            ids[clip_id] = (raw.line, key)
            seen[key] = row[3]
            kept.append(row)
        if strict and report.problems:
            shown = "\n  ".join(str(p) for p in report.problems[:10])
            more = f"\n  ... and {len(report.problems) - 10} more" if len(report.problems) > 10 else ""
            raise ManifestError(f"{len(report.problems)} malformed rows:\n  {shown}{more}", file=source)
        labels = sorted({r[3] for r in kept if r[3] is not None})
        class_list = list(classes) if classes is not None else labels
        index = {name: i for i, name in enumerate(class_list)}
        unknown = [name for name in labels if name not in index]
        if unknown:
            raise ManifestError(f"labels not in the class list: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}", file=source)
        report.rows_kept = len(kept)
        columns = list(zip(*kept)) if kept else [[], [], [], [], []]
        youtube_ids, starts, ends, row_labels, splits = columns
        table = pa.table(
            {
                "clip_id": [clip_id_for(y, s, e) for y, s, e in zip(youtube_ids, starts, ends)],
                "youtube_id": list(youtube_ids),
                "time_start": list(starts),
                "time_end": list(ends),
                "label": list(row_labels),
                "label_index": [index[l] if l is not None else -1 for l in row_labels],
                "split": list(splits),
                "version": [version or "custom"] * len(kept),
            },
            schema=MANIFEST_SCHEMA,
        )
        return cls(table, report, class_list)

    def with_classes(self, classes: list[str]) -> "Manifest":
        """The same rows with label_index recomputed against ``classes`` (e.g. a version's full list)."""
        labels = self.table.column("label")
        unknown = sorted(set(labels.drop_null().unique().to_pylist()) - set(classes))
        if unknown:
            raise ManifestError(f"labels not in the class list: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}", file=self.report.source)
        index = pc.fill_null(pc.index_in(labels, value_set=pa.array(list(classes), pa.string())), -1).cast(pa.int32())
        position = self.table.schema.get_field_index("label_index")
        table = self.table.set_column(position, MANIFEST_SCHEMA.field("label_index"), index)
        return Manifest(table, self.report, list(classes))

    # -- views ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def classes(self) -> list[str]:
        """The class list label_index refers to (sorted labels unless one was given)."""
        return self.class_names or sorted(set(self.table.column("label").drop_null().to_pylist()))

    @property
    def splits(self) -> list[str]:
        return sorted(set(self.table.column("split").to_pylist()))

    def to_pandas(self):
        return self.table.to_pandas()

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary file, then rename), so a crash never leaves half a manifest."""
        path = Path(path)
        with atomic_output(path) as temp:
            pq.write_table(self.table, temp)
        return path




def _read_bytes(path: Path) -> bytes:
    """A file's contents, transparently gunzipped (published fingerprints are .json.gz)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == GZIP_MAGIC else data


def _read_text(path: Path) -> str:
    return _read_bytes(path).decode("utf-8-sig")


# -- row sources ----------------------------------------------------------------------------------
def _csv_rows(handle: io.StringIO, source: str) -> Iterator[_RawRow]:
    reader = csv.reader(handle)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ManifestError("empty file (no header)", file=source) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"header lacks column(s) {missing}; found {header}", file=source, line=1)
    pos = {name: header.index(name) for name in header}
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # e.g. a 10 MB field: the csv module cannot go on past it
            raise ManifestError(f"unreadable CSV row: {err}", file=source, line=reader.line_num) from None
        line = reader.line_num
        if not record or all(not f.strip() for f in record):
            continue
        if len(record) < len(header):
            yield _unreadable(line, "", f"row has {len(record)} fields, header has {len(header)}")
            continue
        label = record[pos["label"]].strip() if "label" in pos else None
        yield _RawRow(
            line,
            record[pos["youtube_id"]].strip(),
            record[pos["time_start"]].strip(),
            record[pos["time_end"]].strip(),
            label or None,
            record[pos["split"]] if "split" in pos else None,
        )


def _json_rows(data: dict, source: str) -> Iterator[_RawRow]:
    for youtube_id, entry in data.items():
        where = f"entry {youtube_id!r}"
        if not isinstance(entry, dict):
            yield _unreadable(None, youtube_id, f"{where}: not an object")
            continue
        annotations = entry.get("annotations") or {}
        segment = annotations.get("segment") if isinstance(annotations, dict) else None
        if not (isinstance(segment, (list, tuple)) and len(segment) == 2):
            yield _unreadable(None, youtube_id, f"{where}: annotations.segment must be [start, end]")
            continue
        label = annotations.get("label") if isinstance(annotations, dict) else None
        yield _RawRow(None, youtube_id, segment[0], segment[1], label or None, entry.get("subset"))


def _table_rows(table: pa.Table, source: str) -> Iterator[_RawRow]:
    names = set(table.column_names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ManifestError(f"table lacks column(s) {missing}; found {sorted(names)}", file=source)
    columns = {c: table.column(c).to_pylist() for c in ("youtube_id", "time_start", "time_end", "label", "split") if c in names}
    for i in range(table.num_rows):
        yield _RawRow(
            i + 1,
            columns["youtube_id"][i],
            columns["time_start"][i],
            columns["time_end"][i],
            columns["label"][i] if "label" in columns else None,
            columns["split"][i] if "split" in columns else None,
        )


def _fingerprint_rows(data: dict, source: str) -> Iterator[_RawRow]:
    """A published fingerprint lists clip ids per split (and labels): enough to fetch that subset."""
    from kinetics.manifests.schema import parse_clip_id

    for split, clips in (data.get("splits") or {}).items():
        for i, clip in enumerate(clips):
            clip_id, label = (clip, None) if isinstance(clip, str) else (clip.get("clip_id"), clip.get("label"))
            try:
                youtube_id, start, end = parse_clip_id(clip_id)
            except (ValueError, AttributeError, TypeError):
                yield _unreadable(None, str(clip_id), f"splits.{split}[{i}]: not a clip id")
                continue
            if isinstance(clip, dict) and "time_start" in clip:  # exact times, written when not whole seconds
                start, end = clip["time_start"], clip["time_end"]
            yield _RawRow(None, youtube_id, start, end, label, split)


def _normalise(raw: _RawRow, default_split: str | None) -> tuple[str | None, tuple | None]:
    if raw.problem:
        return raw.problem, None
    try:
        start = float(raw.time_start)
        end = float(raw.time_end)
    except (TypeError, ValueError):
        return f"time_start/time_end must be numbers, got {raw.time_start!r}, {raw.time_end!r}", None
    split = normalise_split(raw.split) if raw.split else (default_split or "")
    youtube_id = raw.youtube_id if isinstance(raw.youtube_id, str) else str(raw.youtube_id)
    label = raw.label.strip() if isinstance(raw.label, str) else None
    problem = row_problem(youtube_id, start, end, split or "?", label)
    if problem:
        return problem, None
    if not split:
        return "no split column and no split given (pass split=...)", None
    return None, (youtube_id, start, end, label or None, split)


def _single_version(table: pa.Table) -> str | None:
    if "version" not in table.column_names or table.num_rows == 0:
        return None
    values = set(table.column("version").to_pylist())
    return values.pop() if len(values) == 1 else None
