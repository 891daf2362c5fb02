"""Which manifest rows to fetch: split, classes, per-class and total limits, shard i/n. Pure functions.

Everything is deterministic and independent of row order: when a limit has to choose, it keeps
the clips with the smallest ``sha1(clip_id)``, which is an unbiased sample that stays put as a
manifest grows. ``--shard i/n`` partitions the *selected* set by ``sha1(clip_id) mod n``, so N
machines given the same flags split one manifest exactly, with no coordinator and no overlap.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kinetics.errors import KineticsError
from kinetics.manifests.schema import normalise_split


def clip_hash(clip_id: str) -> int:
    """A stable 64-bit hash of a clip id (Python's ``hash`` changes between processes)."""
    return int.from_bytes(hashlib.sha1(clip_id.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based), written ``i/n`` on the command line."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"shard must be i/n with 0 <= i < n, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"shard must be written i/n (for example 0/4), got {text!r}") from None
        return cls(index, count)

    def contains(self, clip_id: str) -> bool:
        return clip_hash(clip_id) % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Selection:
    """A subset of a manifest. ``None`` everywhere selects every row."""

    split: str | None = None
    classes: tuple[str, ...] | None = None
    limit: int | None = None
    per_class: int | None = None
    shard: Shard | None = None

    def __post_init__(self) -> None:
        if self.split is not None:  # as manifests store it: "validate" and "VAL" select the val rows
            object.__setattr__(self, "split", normalise_split(self.split))
        for name in ("limit", "per_class"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive number of clips, got {value}")
        if self.classes is not None and not self.classes:
            raise ValueError("classes is empty: name at least one class, or pass None for all")


def parse_classes(value: str) -> tuple[str, ...]:
    """``"a,b,c"``, or a file (``@file``, or any existing path): one class per line, blank lines and
    ``#`` comments ignored."""
    as_file = value.startswith("@") or ("," not in value and Path(value).expanduser().is_file())
    if as_file:
        path = Path(value.removeprefix("@")).expanduser()
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as err:
            raise KineticsError(f"cannot read class list {path}: {err.strerror or err}") from err
        names = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not names:
            raise KineticsError(f"class list {path} names no classes")
    else:
        names = [name.strip() for name in value.split(",") if name.strip()]
    return tuple(dict.fromkeys(names))


def select_clips(manifest, selection: Selection, *, source: str | os.PathLike = "manifest") -> pa.Table:
    """The rows of a manifest (a ``Manifest`` or its table) that ``selection`` asks for, in ``sha1(clip_id)`` order.

    Order of operations: split, classes, per-class limit, total limit, shard. Unknown class
    names raise KineticsError naming them (with the closest known names).
    """
    table: pa.Table = getattr(manifest, "table", manifest)
    if selection.split is not None:
        table = table.filter(pc.equal(table.column("split"), selection.split))
    if selection.classes is not None:
        known = set(table.column("label").drop_null().to_pylist())
        unknown = [name for name in selection.classes if name not in known]
        if unknown:
            hints = {name: difflib.get_close_matches(name, sorted(known), n=2) for name in unknown}
            shown = ", ".join(f"{name!r}" + (f" (did you mean {' or '.join(map(repr, h))}?)" if h else "") for name, h in hints.items())
            where = f" split {selection.split!r} of" if selection.split else ""
            raise KineticsError(f"classes not in{where} {source}: {shown}")
        table = table.filter(pc.is_in(table.column("label"), value_set=pa.array(selection.classes, pa.string())))
    table = _hash_order(table)
    if selection.per_class is not None:
        table = _first_per_label(table, selection.per_class)
    if selection.limit is not None:
        table = table.slice(0, selection.limit)
    if selection.shard is not None:
        keep = [selection.shard.contains(c) for c in table.column("clip_id").to_pylist()]
        table = table.filter(pa.array(keep, pa.bool_()))
    return table


def _hash_order(table: pa.Table) -> pa.Table:
    hashes = pa.array([clip_hash(c) for c in table.column("clip_id").to_pylist()], pa.uint64())
    return table.take(pc.sort_indices(hashes))


def _first_per_label(table: pa.Table, n: int) -> pa.Table:
    seen: dict[str | None, int] = {}
    keep = []
    for label in table.column("label").to_pylist():
        count = seen.get(label, 0)
        keep.append(count < n)
        seen[label] = count + 1
    return table.filter(pa.array(keep, pa.bool_()))
