"""Whole-file writes that a crash cannot leave half done: temporary sibling, fsync, rename.

Manifests, index parts, flow files, checkpoints and state files all go through ``atomic_output``;
none of them is a corpus concept, so this sits at the bottom of the package, below ``fetch``.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

TEMP_SUFFIX = ".part"


def temp_path(final: Path) -> Path:
    """A hidden sibling of ``final`` to write to before renaming (same filesystem, so atomic)."""
    return final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}"


@contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Write to the yielded temporary sibling of ``final``; on success it is published (fsync, then
    rename), on any error it is removed. Every whole-file write in the package goes through here."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(final)
    try:
        yield temp
        publish(temp, final)
    finally:
        temp.unlink(missing_ok=True)


def publish(temp: Path, final: Path) -> None:
    """Atomically move a completed temporary file to its final name and make the rename durable."""
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, final)
    fsync_dir(final.parent)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


_TEMP_OWNER = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{12}(?:\.part)+$")


def remove_stale_temps(finals: Iterable[Path]) -> int:
    """Delete the temporary siblings (``temp_path``, and a tool's ``.part`` of one) that a killed
    writer left for these final paths; one directory listing each, other files untouched."""
    by_dir: dict[Path, set[str]] = {}
    for final in finals:
        by_dir.setdefault(final.parent, set()).add(final.name)
    removed = 0
    for directory, names in by_dir.items():
        if not directory.is_dir():
            continue
        for entry in os.scandir(directory):
            owner = _TEMP_OWNER.fullmatch(entry.name) if is_temp_name(entry.name) else None
            if owner and owner.group("final") in names:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed
