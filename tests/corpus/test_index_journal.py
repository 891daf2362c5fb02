"""The index journals: atomic appends, latest-state views, crash-safe compaction, plain-pandas readability."""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta

import pandas as pd
import pytest

from kinetics.corpus.index import CLIP_SCHEMA, ClipRecord, CorpusIndex, FlowRecord, utcnow
from kinetics.manifests.readers import Manifest


def _record(clip: str, status: str = "ok", *, offset_seconds: float = 0.0, **extra) -> ClipRecord:
    youtube_id = clip[:11]
    when = utcnow() + timedelta(seconds=offset_seconds)
    fields = dict(path=f"train/x/{clip}.mp4") if status == "ok" else dict(reason="network")
    fields.update(extra)
    return ClipRecord(
        clip_id=clip, youtube_id=youtube_id, time_start=0, time_end=10, split="train", status=status,
        started_at=when, finished_at=when, **fields,
    )


CLIPS = [f"{c * 11}_000000_000010" for c in "abcdefgh"]


def test_latest_row_wins_per_clip(tmp_path):
    index = CorpusIndex(tmp_path)
    index.record_clips([_record(CLIPS[0], "failed", offset_seconds=0), _record(CLIPS[1], "ok", offset_seconds=0)])
    index.record_clips([_record(CLIPS[0], "ok", offset_seconds=5)])
    index.record_clips([_record(CLIPS[1], "missing", offset_seconds=9, reason="private")])
    state = {r["clip_id"]: r for r in index.clip_state().to_pylist()}
    assert state[CLIPS[0]]["status"] == "ok"
    assert state[CLIPS[1]]["status"] == "missing" and state[CLIPS[1]]["reason"] == "private"
    assert index.clips.read().num_rows == 4  # the full history is kept


def test_record_validation_names_the_clip():
    with pytest.raises(ValueError, match=CLIPS[0]):
        ClipRecord(clip_id=CLIPS[0], youtube_id="a" * 11, time_start=0, time_end=10, split="train", status="ok")
    with pytest.raises(ValueError, match="reason"):
        ClipRecord(clip_id=CLIPS[0], youtube_id="a" * 11, time_start=0, time_end=10, split="train", status="failed")


def test_plain_pandas_reads_the_index_and_the_documented_recipe_matches(tmp_path):
    index = CorpusIndex(tmp_path)
    for i, clip in enumerate(CLIPS):
        index.record_clips([_record(clip, "failed", offset_seconds=i)])
        index.record_clips([_record(clip, "ok", offset_seconds=i + 100)])
    df = pd.read_parquet(tmp_path / "index" / "clips")
    current = df.sort_values("finished_at").drop_duplicates("clip_id", keep="last")
    ours = index.clip_state().to_pandas()
    assert sorted(current["clip_id"]) == sorted(ours["clip_id"]) == sorted(CLIPS)
    assert set(current["status"]) == {"ok"}


def test_split_filter_and_column_projection(tmp_path):
    index = CorpusIndex(tmp_path)
    index.record_clips([_record(CLIPS[0]), ClipRecord(clip_id=CLIPS[1], youtube_id=CLIPS[1][:11], time_start=0, time_end=10, split="val", status="ok", path="val/x/y.mp4")])
    table = index.clip_state("val", ["clip_id", "status"])
    assert table.column_names == ["clip_id", "status"]
    assert table.column("clip_id").to_pylist() == [CLIPS[1]]


def test_compaction_merges_parts_and_keeps_every_row(tmp_path):
    index = CorpusIndex(tmp_path)
    for i, clip in enumerate(CLIPS):
        index.record_clips([_record(clip, "failed", offset_seconds=i)])
    before = index.clip_state().sort_by("clip_id").to_pylist()
    assert len(index.clips.parts()) == len(CLIPS)
    assert index.compact()["clips"] == len(CLIPS)
    assert len(index.clips.parts()) == 1
    assert index.clip_state().sort_by("clip_id").to_pylist() == before
    assert index.clips.read().num_rows == len(CLIPS)


def test_crash_during_compaction_leaves_duplicates_that_readers_absorb(tmp_path):
    """A compaction killed after writing its merged file but before deleting inputs."""
    index = CorpusIndex(tmp_path)
    for i, clip in enumerate(CLIPS[:3]):
        index.record_clips([_record(clip, "ok", offset_seconds=i)])
    merged = index.clips.read()
    index.clips.append(merged, prefix="compacted")  # the merged copy exists, the parts were not deleted
    assert index.clips.read().num_rows == 6
    assert index.clip_state().num_rows == 3
    index.compact()  # the next compaction drops the duplicated attempts
    assert index.clips.read().num_rows == 3


def test_a_torn_temp_file_is_invisible(tmp_path):
    index = CorpusIndex(tmp_path)
    index.record_clips([_record(CLIPS[0])])
    torn = tmp_path / "index" / "clips" / ".part-torn.parquet.tmp"
    torn.write_bytes(b"PAR1 half written")
    assert index.clip_state().num_rows == 1
    assert len(pd.read_parquet(tmp_path / "index" / "clips")) == 1


def _append_many(root: str, worker: int) -> None:
    index = CorpusIndex(root)
    for i in range(20):
        index.record_clips([_record(f"{worker:02d}{i:09d}_000000_000010")])


def test_concurrent_writers_never_clobber_each_other(tmp_path):
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    index = CorpusIndex(tmp_path)
    assert index.clip_state().num_rows == 80
    assert index.compact()["clips"] == 80
    assert index.clip_state().num_rows == 80


def test_targets_are_a_union_over_runs(tmp_path, shared_data):
    manifest = Manifest.from_file(shared_data / "kinetics400" / "kinetics-400_val.csv", version="400")
    index = CorpusIndex(tmp_path)
    index.add_targets(manifest.table.slice(0, 100))
    index.add_targets(manifest.table.slice(50, 100))  # overlaps the first 50 rows
    assert index.add_targets(manifest.table.slice(0, 10)) is None  # nothing new: no part written
    targets = index.target_table()
    assert targets.num_rows == 150
    assert len(set(targets.column("clip_id").to_pylist())) == 150
    assert index.target_table("test").num_rows == 0


def test_flow_journal_state_by_method(tmp_path):
    index = CorpusIndex(tmp_path)
    index.record_flow([
        FlowRecord(clip_id=CLIPS[0], split="train", method="tvl1", status="ok", path="flow/tvl1/a"),
        FlowRecord(clip_id=CLIPS[0], split="train", method="dis", status="failed", message="boom"),
    ])
    assert index.flow_state(method="tvl1").column("status").to_pylist() == ["ok"]
    assert index.flow_state(method="dis").column("status").to_pylist() == ["failed"]


def test_schema_is_stable_on_disk(tmp_path):
    index = CorpusIndex(tmp_path)
    part = index.record_clips([_record(CLIPS[0])])
    import pyarrow.parquet as pq

    schema = pq.read_schema(part)
    assert schema.names == CLIP_SCHEMA.names
    assert schema.metadata[b"kinetics.schema"] == b"clips/1"
    assert not any(name.startswith(".") for name in os.listdir(part.parent))


def test_runs_compact_only_a_fragmented_journal(tmp_path):
    index = CorpusIndex(tmp_path)
    for i, clip in enumerate(CLIPS[:4]):
        index.record_clips([_record(clip, offset_seconds=i)])
    assert index.compact_if_fragmented(max_parts=4) == {}  # 4 parts: left alone
    index.record_clips([_record(CLIPS[4])])
    assert index.compact_if_fragmented(max_parts=4) == {"clips": 5}
    assert len(index.clips.parts()) == 1 and index.clip_state().num_rows == 5


def test_audit_compact_flag_merges_every_journal(tmp_path, capsys):
    import json

    from kinetics.cli.main import main

    index = CorpusIndex(tmp_path)
    for i, clip in enumerate(CLIPS[:3]):
        index.record_clips([_record(clip, offset_seconds=i)])
    assert main(["audit", "--root", str(tmp_path), "--compact", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compacted_files"]["clips"] == 3
    assert len(index.clips.parts()) == 1 and index.clip_state().num_rows == 3
