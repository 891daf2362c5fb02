"""Frame strips: a few sample clips of a few classes, RGB frames above their flow in colour.

Chosen reproducibly: classes by a seeded hash of their label, and within a class the clip with the
smallest seeded hash among those with stored flow (any clip when none has flow), so two reports of
one corpus show the same clips and a different ``seed`` shows others. A clip that does not decode
is named in the section and the next candidate of its class is tried.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kinetics.corpus.index import CorpusIndex
from kinetics.errors import KineticsError
from kinetics.flow.preview import preview_figure, preview_frames
from kinetics.report.html import Section
from kinetics.report.plots import figure_uri

TRIES_PER_CLASS = 3


def strips_section(root: Path, index: CorpusIndex | None, ok_clips: pa.Table | None, *, classes: int = 4,
                   fields: int = 6, seed: int = 0) -> Section:
    """``ok_clips``: clip_id, label, split of the clips to choose from (the audit's healthy clips)."""
    section = Section("frames", "Sample frames and their flow",
                      "Evenly spaced frames of one clip per sampled class; below each frame, the flow from it to the "
                      "next frame in the Middlebury colour coding (hue = direction, saturation = speed, white = still; "
                      "the key's number is the speed drawn at full colour).")
    if index is None or ok_clips is None or ok_clips.num_rows == 0:
        section.note_missing("no ok clips to show frames of")
        return section
    with_flow = _clips_with_flow(index)
    without_flow: list[str] = []
    for label in _pick_classes(ok_clips, classes, seed):
        members = ok_clips.filter(pc.equal(ok_clips.column("label"), label)) if label is not None else \
            ok_clips.filter(pc.is_null(ok_clips.column("label")))
        for clip_id in _pick_clips(members, with_flow, seed)[:TRIES_PER_CLASS]:
            try:
                frames = preview_frames(root, clip_id, count=fields, require_flow=False)
            except (KineticsError, OSError, ValueError) as err:  # a bad clip or flow file: name it, try the next
                section.note_missing(f"clip {clip_id} ({label}) could not be shown: {err}")
                continue
            if frames.flow_colour is None:
                without_flow.append(clip_id)
            figure = preview_figure(frames)
            section.figure(figure_uri(figure, dpi=72), frames.title, alt=f"frames of {clip_id}")
            break
    if without_flow:
        section.note_missing(f"{len(without_flow)} of the clips shown have no stored flow yet ({', '.join(without_flow)}): "
                             f"kinetics flow --root {index.root} computes it")
    if section.images == 0:
        section.note_missing("none of the sampled clips could be shown")
    return section


def _key(seed: int, text: str | None) -> str:
    return hashlib.sha256(f"{seed}\x00{text}".encode()).hexdigest()


def _pick_classes(ok_clips: pa.Table, count: int, seed: int) -> list[str | None]:
    labels = pc.unique(ok_clips.column("label")).to_pylist()
    return sorted(labels, key=lambda label: _key(seed, label))[:count]


def _pick_clips(members: pa.Table, with_flow: pa.Array, seed: int) -> list[str]:
    ids = members.column("clip_id").to_pylist()
    has_flow = pc.is_in(members.column("clip_id"), value_set=with_flow).to_pylist() if len(with_flow) else [False] * len(ids)
    return [c for _, c in sorted(((not f, _key(seed, c)), c) for c, f in zip(ids, has_flow))]


def _clips_with_flow(index: CorpusIndex) -> pa.Array:
    rows = index.flow.read(["clip_id"], pc.field("status") == "ok")
    return pc.unique(rows.column("clip_id")) if rows.num_rows else pa.array([], pa.string())
