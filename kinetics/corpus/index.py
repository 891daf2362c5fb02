"""The corpus index: append-only Parquet journals under ``{root}/index/``.

Every attempt (download, flow, audit fix) is a row. Writers never modify a file: each batch of
rows becomes a new part file, written under a hidden name and renamed into place, so a crash or
``kill -9`` leaves either the whole batch or nothing, and any number of processes or machines
(``--shard``) can write to one root without locks. The current state of a clip is its latest row.
``compact()`` merges part files into one; readers tolerate the duplicates a crashed compaction
may leave by keying rows on their ``attempt_id``.

Plain tools read it without this package::

    df = pandas.read_parquet("ROOT/index/clips")
    current = df.sort_values("finished_at").drop_duplicates("clip_id", keep="last")

Tables: ``clips`` (download attempts, CLIP_SCHEMA), ``flow`` (flow extraction, FLOW_SCHEMA) and
``manifest`` (the clips this corpus was asked for, MANIFEST_SCHEMA + recorded_at).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kinetics.corpus.layout import CorpusLayout
from kinetics.files import atomic_output, fsync_dir, is_temp_name
from kinetics.corpus.reasons import STATUSES
from kinetics.errors import CorpusError
from kinetics.manifests.schema import MANIFEST_SCHEMA

TIMESTAMP = pa.timestamp("us", tz="UTC")
COMPACT_AFTER_PARTS = 64
STALE_TEMP_SECONDS = 3600  # a temp file this old belongs to a writer that died
_READ_ATTEMPTS = 5

CLIP_SCHEMA = pa.schema(
    [
        ("attempt_id", pa.string()),
        ("clip_id", pa.string()),
        ("youtube_id", pa.string()),
        ("time_start", pa.float64()),
        ("time_end", pa.float64()),
        ("split", pa.string()),
        ("label", pa.string()),
        ("label_index", pa.int32()),
        ("status", pa.string()),  # ok | missing | failed (see kinetics.corpus.reasons)
        ("reason", pa.string()),  # a Reason value when not ok
        ("message", pa.string()),  # the original error text (yt-dlp's, ffmpeg's, ours)
        ("path", pa.string()),  # relative to the root, POSIX separators; set when ok
        ("bytes", pa.int64()),
        ("duration", pa.float64()),  # seconds, as decoded
        ("fps", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("frames", pa.int32()),
        ("codec", pa.string()),
        ("has_audio", pa.bool_()),
        ("attempts", pa.int32()),  # attempts at this clip so far, this one included
        ("source", pa.string()),  # youtube | cvdf | adopted | audit
        ("version", pa.string()),
        ("host", pa.string()),
        ("started_at", TIMESTAMP),
        ("finished_at", TIMESTAMP),
    ],
    metadata={"kinetics.schema": "clips/1"},
)

FLOW_SCHEMA = pa.schema(
    [
        ("attempt_id", pa.string()),
        ("clip_id", pa.string()),
        ("split", pa.string()),
        ("method", pa.string()),
        ("status", pa.string()),  # ok | failed
        ("message", pa.string()),
        ("path", pa.string()),  # relative to the root
        ("frames", pa.int32()),  # flow fields stored (frames decoded - 1)
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("fps", pa.float64()),  # frame rate the flow was computed at
        ("bound", pa.float64()),  # values were clipped to [-bound, bound] before quantising
        ("params", pa.string()),  # JSON of the method's parameters
        ("compute_seconds", pa.float64()),
        ("host", pa.string()),
        ("finished_at", TIMESTAMP),
    ],
    metadata={"kinetics.schema": "flow/1"},
)

TARGET_SCHEMA = pa.schema(list(MANIFEST_SCHEMA) + [pa.field("recorded_at", TIMESTAMP)], metadata={"kinetics.schema": "manifest/1"})
QUARANTINE = "quarantine"  # {root}/index/quarantine/{table}/: unreadable parts moved aside by ``audit --quarantine``


class IndexPartError(CorpusError):
    """A Parquet part of the index cannot be read (truncated, overwritten, wrong schema): names it.

    ``kinetics audit --quarantine`` moves such parts aside; the clips whose rows they held become
    pending again (a re-run adopts or fetches them), and nothing else is lost.
    """

    def __init__(self, parts: Sequence[tuple[Path, str]]):
        self.parts = [(Path(p), why) for p, why in parts]
        root = self.parts[0][0].parents[2] if self.parts else "ROOT"
        listed = "; ".join(f"{p}: {why}" for p, why in self.parts)
        super().__init__(f"unreadable index part{'s' if len(self.parts) > 1 else ''}: {listed}; "
                         f"run `kinetics audit --root {root} --quarantine` to move {'them' if len(self.parts) > 1 else 'it'} "
                         f"aside (the clips {'they' if len(self.parts) > 1 else 'it'} recorded become pending again)")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_attempt_id() -> str:
    return uuid.uuid4().hex


HOST = socket.gethostname()


@dataclass(frozen=True)
class ClipRecord:
    """One attempt at one clip: what the downloader (or audit) learnt about it."""

    clip_id: str
    youtube_id: str
    time_start: float
    time_end: float
    split: str
    status: str
    label: str | None = None
    label_index: int = -1
    reason: str | None = None
    message: str | None = None
    path: str | None = None
    bytes: int | None = None
    duration: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    codec: str | None = None
    has_audio: bool | None = None
    attempts: int = 1
    source: str = "youtube"
    version: str | None = None
    host: str = HOST
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime = field(default_factory=utcnow)
    attempt_id: str = field(default_factory=new_attempt_id)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.clip_id}: status must be ok, missing or failed, got {self.status!r}")
        if self.status == "ok" and not self.path:
            raise ValueError(f"{self.clip_id}: an ok record needs a path")
        if self.status != "ok" and not self.reason:
            raise ValueError(f"{self.clip_id}: a {self.status} record needs a reason")


@dataclass(frozen=True)
class FlowRecord:
    """One flow extraction for one clip."""

    clip_id: str
    split: str
    method: str
    status: str
    path: str | None = None
    message: str | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bound: float | None = None
    params: str | None = None
    compute_seconds: float | None = None
    host: str = HOST
    finished_at: datetime = field(default_factory=utcnow)
    attempt_id: str = field(default_factory=new_attempt_id)

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"{self.clip_id}: flow status must be ok or failed, got {self.status!r}")


def records_to_table(records: Sequence, schema: pa.Schema) -> pa.Table:
    names = [f.name for f in fields(records[0])] if records else []
    columns = {name: [getattr(r, name) for r in records] for name in names}
    return pa.Table.from_pydict({n: columns.get(n, [None] * len(records)) for n in schema.names}, schema=schema)


class Journal:
    """An append-only table stored as Parquet part files in one directory.

    ``key`` names the entity a row is about and ``order_by`` the column that orders its rows;
    the latest row per key is the entity's current state.
    """

    def __init__(self, directory: Path, schema: pa.Schema, *, key: str, order_by: str, row_id: str | None = None):
        self.directory = Path(directory)
        self.schema = schema
        self.key = key
        self.order_by = order_by
        self.row_id = row_id

    def parts(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix == ".parquet" and not p.name.startswith((".", "_")))

    def append(self, rows: Sequence | pa.Table, *, prefix: str = "part") -> Path | None:
        """Write ``rows`` (records or a table) as one new part file, atomically. Returns its path."""
        table = rows if isinstance(rows, pa.Table) else records_to_table(rows, self.schema)
        if table.num_rows == 0:
            return None
        table = table.select(self.schema.names).cast(self.schema)
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{prefix}-{stamp}-{HOST[:32]}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        final = self.directory / name
        try:
            with atomic_output(final) as temp:
                pq.write_table(table, temp, compression="zstd")
        except OSError as err:
            raise CorpusError(f"cannot write index part {final}: {err.strerror or err}") from err
        return final

    def read(self, columns: Sequence[str] | None = None, where: pc.Expression | None = None) -> pa.Table:
        """Every row (the full history), in no particular order."""
        wanted = list(columns) if columns is not None else self.schema.names
        for _ in range(_READ_ATTEMPTS):
            parts = self.parts()
            if not parts:
                return self.schema.empty_table().select(wanted)
            try:
                dataset = ds.dataset([str(p) for p in parts], schema=self.schema, format="parquet")
                return dataset.to_table(columns=wanted, filter=where)
            except FileNotFoundError:  # a compaction removed a part between listing and reading
                continue
            except (pa.ArrowException, OSError) as err:
                self._raise_unreadable(parts, err)
        raise CorpusError(f"{self.directory}: part files kept vanishing while being read (is something deleting them?)")

    def latest(self, columns: Sequence[str] | None = None, where: pc.Expression | None = None) -> pa.Table:
        """The latest row per key: the current state of every entity."""
        wanted = list(columns) if columns is not None else self.schema.names
        needed = list(dict.fromkeys([*wanted, self.key, self.order_by]))
        table = self.read(needed, where)
        if table.num_rows == 0:
            return table.select(wanted)
        # Hash first: most keys have a single row, and sorting 650k strings costs more than reading
        # them. Only rows whose key repeats are sorted; one filter then drops the superseded rows,
        # keeping the stored order.
        keys = table.column(self.key)
        counts = pc.value_counts(keys)
        repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        if len(repeated) == 0:
            return table.select(wanted)
        is_repeated = pc.is_in(keys, value_set=repeated).to_numpy(zero_copy_only=False)
        positions = np.flatnonzero(is_repeated)
        contenders = table.select([self.key, self.order_by]).take(positions)
        order = pc.sort_indices(contenders, sort_keys=[(self.key, "ascending"), (self.order_by, "ascending")]).to_numpy()
        sorted_keys = contenders.column(self.key).take(order).combine_chunks()
        is_last = np.ones(len(order), dtype=bool)
        is_last[:-1] = pc.not_equal(sorted_keys.slice(0, len(order) - 1), sorted_keys.slice(1)).to_numpy(zero_copy_only=False)
        keep = ~is_repeated
        keep[positions[order[is_last]]] = True
        return table.filter(pa.array(keep)).select(wanted)

    def compact(self) -> int:
        """Merge all part files into one; returns how many files were merged (0 if nothing to do).

        Safe against concurrent writers (their new parts are simply not included) and against a
        crash at any point (the merged file is complete before any input is deleted).
        """
        parts = self.parts()
        if len(parts) < 2:
            return 0
        try:
            table = pa.concat_tables([pq.read_table(p, schema=self.schema) for p in parts])
        except (pa.ArrowException, OSError) as err:
            self._raise_unreadable(parts, err)
        if self.row_id:
            table = _drop_duplicate_rows(table, self.row_id)
        written = self.append(table, prefix="compacted")
        for part in parts:
            if part != written:
                part.unlink(missing_ok=True)
        self._remove_stale_temps()
        fsync_dir(self.directory)
        return len(parts)

    def unreadable_parts(self, parts: Sequence[Path] | None = None) -> list[tuple[Path, str]]:
        """Each part that does not read in full against the schema, with pyarrow's reason."""
        bad = []
        for part in self.parts() if parts is None else parts:
            try:
                pq.read_table(part, schema=self.schema)
            except FileNotFoundError:
                continue
            except (pa.ArrowException, OSError) as err:
                bad.append((part, f"{type(err).__name__}: {err}".splitlines()[0]))
        return bad

    def quarantine(self, destination: Path) -> list[Path]:
        """Move every unreadable part into ``destination`` (same filesystem: a rename); returns the new paths."""
        moved = []
        for part, _ in self.unreadable_parts():
            destination.mkdir(parents=True, exist_ok=True)
            target = destination / part.name
            os.replace(part, target)
            moved.append(target)
        if moved:
            fsync_dir(self.directory)
            fsync_dir(destination)
        return moved

    def _raise_unreadable(self, parts: Sequence[Path], err: BaseException):
        bad = self.unreadable_parts(parts)
        if not bad:  # not one part's fault (a transient I/O error): say what pyarrow said, about the directory
            raise CorpusError(f"cannot read the index table {self.directory}: {err}") from err
        raise IndexPartError(bad) from err

    def _remove_stale_temps(self) -> None:
        """Temp files of appends whose writer died long ago (a live append takes milliseconds)."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for entry in os.scandir(self.directory):
            if is_temp_name(entry.name) and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)


def _drop_duplicate_rows(table: pa.Table, row_id: str) -> pa.Table:
    ids = table.column(row_id).combine_chunks()
    unique_rows = pc.index_in(pc.unique(ids), ids)  # first position of each distinct id
    return table.take(pc.sort_indices(unique_rows)) if len(unique_rows) != table.num_rows else table


class CorpusIndex:
    """The three journals of a corpus root and the views built on them."""

    def __init__(self, root: str | os.PathLike):
        self.layout = CorpusLayout(Path(root))
        directory = self.layout.index_dir
        self.clips = Journal(directory / "clips", CLIP_SCHEMA, key="clip_id", order_by="finished_at", row_id="attempt_id")
        self.flow = Journal(directory / "flow", FLOW_SCHEMA, key="clip_id", order_by="finished_at", row_id="attempt_id")
        self.targets = Journal(directory / "manifest", TARGET_SCHEMA, key="clip_id", order_by="recorded_at")

    @property
    def root(self) -> Path:
        return self.layout.root

    def exists(self) -> bool:
        return self.layout.index_dir.is_dir()

    # -- writing -------------------------------------------------------------------------------
    def record_clips(self, records: Sequence[ClipRecord]) -> Path | None:
        return self.clips.append(records)

    def record_flow(self, records: Sequence[FlowRecord]) -> Path | None:
        return self.flow.append(records)

    def add_targets(self, manifest_table: pa.Table) -> Path | None:
        """Remember which clips this corpus was asked for (union over runs and shards)."""
        if manifest_table.num_rows == 0:
            return None
        table = manifest_table.select(MANIFEST_SCHEMA.names).cast(MANIFEST_SCHEMA)
        known = self.targets.read(["clip_id"])  # membership only: no need for the latest row per clip
        if known.num_rows:
            fresh = pc.invert(pc.is_in(table.column("clip_id"), value_set=known.column("clip_id")))
            table = table.filter(fresh)
            if table.num_rows == 0:
                return None
        stamp = pa.array([utcnow()] * table.num_rows, type=TIMESTAMP)
        return self.targets.append(table.append_column("recorded_at", stamp))

    def compact(self) -> dict[str, int]:
        """Merge each journal's part files into one (safe beside running writers); files merged per table."""
        return {"clips": self.clips.compact(), "flow": self.flow.compact(), "manifest": self.targets.compact()}

    def quarantine_unreadable(self) -> list[Path]:
        """Move unreadable part files to ``{root}/index/quarantine/{table}/``; returns where they went.

        Their rows are gone from the index: clips they recorded become pending (a download re-run
        adopts published files after verifying them), targets they held are re-added by the next run.
        """
        base = self.layout.index_dir / QUARANTINE
        journals = {"clips": self.clips, "flow": self.flow, "manifest": self.targets}
        return [path for name, journal in journals.items() for path in journal.quarantine(base / name)]

    def compact_if_fragmented(self, max_parts: int = COMPACT_AFTER_PARTS) -> dict[str, int]:
        """Compact the journals that hold more than ``max_parts`` part files (runs call this at the end,
        so a week of batched appends does not leave readers opening thousands of small files)."""
        journals = {"clips": self.clips, "flow": self.flow, "manifest": self.targets}
        return {name: journal.compact() for name, journal in journals.items() if len(journal.parts()) > max_parts}

    # -- reading -------------------------------------------------------------------------------
    def clip_state(self, split: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """Current state of every clip that has at least one attempt."""
        return self.clips.latest(columns, _split_is(split))

    def flow_state(self, split: str | None = None, method: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        where = _split_is(split)
        if method:
            by_method = pc.field("method") == method
            where = by_method if where is None else where & by_method
        return self.flow.latest(columns, where)

    def target_table(self, split: str | None = None) -> pa.Table:
        return self.targets.latest(MANIFEST_SCHEMA.names, _split_is(split))


def _split_is(split: str | None) -> pc.Expression | None:
    return pc.field("split") == split if split else None
