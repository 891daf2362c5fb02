"""Fixtures for the loading tests: numbered clips and a small real corpus (files + Parquet index)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from numbered_media import add_clip, add_flow, failed_record, make_numbered_clip, write_index  # noqa: E402


@pytest.fixture(scope="session")
def numbered_clip(tmp_path_factory):
    """``numbered_clip(fps=30, seconds=4, gop=12)``: a cached clip whose frames show their numbers."""
    directory = tmp_path_factory.mktemp("numbered")
    made: dict[tuple, Path] = {}

    def make(*, fps: float = 25, seconds: float = 4, width: int = 128, height: int = 64, gop: int = 12) -> Path:
        key = (fps, seconds, width, height, gop)
        if key not in made:
            made[key] = make_numbered_clip(directory / f"n{fps}_{seconds}_{width}x{height}_g{gop}.mp4",
                                           fps=fps, seconds=seconds, width=width, height=height, gop=gop)
        return made[key]

    return make


@dataclass(frozen=True)
class MiniCorpus:
    root: Path
    train_ids: tuple[str, ...]  # ok train clips, sorted
    with_flow: tuple[str, ...]  # train clips with ok tvl1 flow
    broken_id: str  # an ok train clip whose file is garbage


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory, numbered_clip) -> MiniCorpus:
    """train: 6 ok clips (25/30/24 fps, one 1 s long, one corrupt file), 1 missing, 1 failed, 1 failed-then-ok;
    val: 2 ok; test: 1 unlabelled. tvl1 flow for three train clips."""
    root = tmp_path_factory.mktemp("corpus")
    c25, c30, c24 = (numbered_clip(fps=f, seconds=3) for f in (25, 30, 24))
    short = numbered_clip(fps=25, seconds=1)
    records, flows = [], []

    def ok(clip_id, source, split="train", label="abseiling", label_index=0, fps=25, frames=75):
        record = add_clip(root, source, clip_id=clip_id, split=split, label=label, label_index=label_index,
                          fps=fps, frames=frames)
        records.append(record)
        return record

    a = ok("aaaaaaaaaaa_000000_000010", c25)
    b = ok("bbbbbbbbbbb_000005_000015", c30, label="air drumming", label_index=1, fps=30, frames=90)
    ok("ccccccccccc_000001_000011", c24, label="air drumming", label_index=1, fps=24, frames=72)
    d = ok("ddddddddddd_000002_000012", short, frames=25)
    records.append(failed_record("eeeeeeeeeee_000000_000010", "train", "failed"))  # then it succeeded:
    ok("eeeeeeeeeee_000000_000010", c25)
    broken = ok("fffffffffff_000000_000010", c25)
    (root / broken.path).write_bytes(b"\x00not a video" * 100)
    records.append(failed_record("ggggggggggg_000000_000010", "train", "missing"))
    records.append(failed_record("hhhhhhhhhhh_000000_000010", "train", "failed"))
    ok("iiiiiiiiiii_000000_000010", c25, split="val")
    ok("jjjjjjjjjjj_000000_000010", c30, split="val", fps=30, frames=90)
    ok("kkkkkkkkkkk_000000_000010", c25, split="test", label=None, label_index=-1)
    for record, fields in ((a, 74), (b, 74), (d, 24)):  # N target frames -> N - 1 fields
        flows.append(add_flow(root, record, fields=fields))
    later = records.pop(5)  # e's ok record goes in a later part file than its failure
    write_index(root, records, flows)
    write_index(root, [later])
    records.append(later)
    train = sorted(r.clip_id for r in records if r.split == "train" and r.status == "ok")
    return MiniCorpus(root, tuple(train), tuple(sorted(r.clip_id for r in (a, b, d))), broken.clip_id)
