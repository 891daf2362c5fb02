"""The normalised manifest schema: one row per annotated clip, whatever the source format.

Rows are keyed on (youtube_id, time_start, time_end): youtube_id alone is not unique in
Kinetics-600/700. ``label_index`` is the position of the label in the sorted class list, which is
the order the public I3D checkpoints use; it is -1 for unlabelled rows (the test splits).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pyarrow as pa

#: Anchored for RE2 (fastcsv), where ``$`` is the end of the text; Python code must use fullmatch,
#: since Python's ``$`` also matches before a trailing newline ("aaaaaaaaaaa\n" would pass).
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")

#: Clip ids spell times with six digits; larger times (1e19 from a bad export) would make ids
#: that no tool agrees on and overflow the vectorised reader, so they are row problems.
MAX_SECONDS = 999_999.0

#: Longest label accepted: the longest real class name is under 60 characters.
MAX_LABEL_CHARS = 200

#: Split names as stored; DeepMind's tarballs say "validate" where the 2017 files say "val".
SPLIT_ALIASES = {"validate": "val", "validation": "val", "valid": "val"}

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("clip_id", pa.string(), nullable=False),
        pa.field("youtube_id", pa.string(), nullable=False),
        pa.field("time_start", pa.float64(), nullable=False),  # seconds into the YouTube video
        pa.field("time_end", pa.float64(), nullable=False),
        pa.field("label", pa.string()),  # null for unlabelled rows
        pa.field("label_index", pa.int32(), nullable=False),  # -1 for unlabelled rows
        pa.field("split", pa.string(), nullable=False),
        pa.field("version", pa.string(), nullable=False),  # "400", "600", "700", "700-2020" or "custom"
    ],
    metadata={"kinetics.schema": "manifest/1"},
)

VERSIONS = ("400", "600", "700", "700-2020")


def is_youtube_id(value: str) -> bool:
    return isinstance(value, str) and YOUTUBE_ID.fullmatch(value) is not None


def normalise_split(split: str) -> str:
    split = split.strip().lower()
    return SPLIT_ALIASES.get(split, split)


def clip_id_for(youtube_id: str, time_start: float, time_end: float) -> str:
    """``{youtube_id}_{start:06d}_{end:06d}``, the name every Kinetics tool uses for a clip."""
    return f"{youtube_id}_{int(math.floor(time_start)):06d}_{int(math.ceil(time_end)):06d}"


def parse_clip_id(clip_id: str) -> tuple[str, int, int]:
    """Inverse of :func:`clip_id_for`: (youtube_id, start, end). YouTube ids may contain '_'."""
    head, start, end = clip_id.rsplit("_", 2)
    if not (is_youtube_id(head) and start.isascii() and start.isdigit() and end.isascii() and end.isdigit()):
        raise ValueError(f"not a clip id: {clip_id!r}")
    return head, int(start), int(end)


def row_problem(youtube_id: str, time_start: float, time_end: float, split: str, label: str | None = None) -> str | None:
    """What is wrong with a row, in words, or None. Shared by every reader so the rules agree."""
    if label is not None and len(label) > MAX_LABEL_CHARS:
        return f"label is {len(label)} characters long (at most {MAX_LABEL_CHARS}): {label[:40]!r}..."
    if not is_youtube_id(youtube_id):
        return f"youtube_id must be 11 characters of [A-Za-z0-9_-], got {youtube_id!r}"
    if not (math.isfinite(time_start) and math.isfinite(time_end)):
        return f"times must be finite numbers, got {time_start!r}, {time_end!r}"
    if time_start < 0:
        return f"time_start must be >= 0, got {time_start:g}"
    if time_end <= time_start:
        return f"time_end must be greater than time_start, got {time_start:g} .. {time_end:g}"
    if time_end > MAX_SECONDS:
        return f"times must be at most {MAX_SECONDS:.0f} seconds (clip ids have six digits), got {time_start:g} .. {time_end:g}"
    if not split:
        return "split is empty"
    return None


@dataclass(frozen=True)
class ManifestRow:
    """One annotated clip, validated on construction."""

    youtube_id: str
    time_start: float
    time_end: float
    split: str
    label: str | None = None
    label_index: int = -1
    version: str = "custom"

    def __post_init__(self) -> None:
        problem = row_problem(self.youtube_id, self.time_start, self.time_end, self.split, self.label)
        if problem:
            raise ValueError(problem)

    @property
    def clip_id(self) -> str:
        return clip_id_for(self.youtube_id, self.time_start, self.time_end)

    @property
    def key(self) -> tuple[str, float, float]:
        return (self.youtube_id, self.time_start, self.time_end)
