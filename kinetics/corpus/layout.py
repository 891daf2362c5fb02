"""Where things live under a corpus root.

    {root}/{split}/{label}/{clip_id}.mp4     labelled clips (label sanitised, see safe_label)
    {root}/{split}/{clip_id}.mp4             unlabelled clips (the test splits)
    {root}/flow/{method}/{split}/...         optical flow, mirroring the clip layout
    {root}/index/                            the Parquet index (see kinetics.corpus.index)

Files are written under a hidden temporary name in the final directory and renamed into place
only when complete (``kinetics.files``), so a crash never leaves a half-written file under a final
name.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from kinetics.errors import CorpusError

INDEX_DIR = "index"
FLOW_DIR = "flow"
RESERVED_TOP_LEVEL = frozenset({INDEX_DIR, FLOW_DIR})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME_BYTES = 200


def safe_label(label: str) -> str:
    """A directory name for ``label`` that cannot escape the root or surprise a shell.

    Spaces and anything outside ``[A-Za-z0-9._-]`` become ``_`` ("massaging person's head" ->
    "massaging_person_s_head"); leading dots and dashes are dropped so that the name is never
    ``..``, hidden, or read as an option.
    """
    name = _UNSAFE.sub("_", label.strip()).strip("_")
    name = name.lstrip(".-")
    name = name.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    return name or "_"


def safe_split(split: str) -> str:
    name = safe_label(split)
    if name in RESERVED_TOP_LEVEL:
        raise CorpusError(f"split name {split!r} collides with the reserved directory {name!r}")
    return name


@dataclass(frozen=True)
class CorpusLayout:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())
        object.__setattr__(self, "_resolved_root", self.root.resolve())  # resolve() runs per loaded item

    @property
    def index_dir(self) -> Path:
        return self.root / INDEX_DIR

    def clip_relpath(self, split: str, label: str | None, clip_id: str, suffix: str = ".mp4") -> str:
        """Path of a clip relative to the root, as stored in the index (POSIX separators)."""
        _check_clip_id(clip_id)
        parts = [safe_split(split)] + ([safe_label(label)] if label else []) + [clip_id + suffix]
        return "/".join(parts)

    def flow_relpath(self, method: str, split: str, label: str | None, clip_id: str, suffix: str) -> str:
        _check_clip_id(clip_id)
        parts = [FLOW_DIR, safe_label(method), safe_split(split)] + ([safe_label(label)] if label else []) + [clip_id + suffix]
        return "/".join(parts)

    def resolve(self, relpath: str) -> Path:
        """Absolute path for an index-relative path; refuses anything that would leave the root."""
        path = (self.root / relpath).resolve()
        root = self._resolved_root
        if path != root and root not in path.parents:
            raise CorpusError(f"path escapes the corpus root {root}: {relpath!r}")
        return path

    def ensure_writable(self) -> None:
        """Create the root if needed and prove we can write to it, with an error naming it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise CorpusError(f"corpus root {self.root} is not writable: {err.strerror or err}") from err


def _check_clip_id(clip_id: str) -> None:
    if not clip_id or "/" in clip_id or "\\" in clip_id or clip_id.startswith(".") or "\x00" in clip_id:
        raise CorpusError(f"unsafe clip id {clip_id!r}")
