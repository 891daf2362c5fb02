"""Planning a run: what is skipped, what is retried, stale temporary files, adopting orphans."""

from __future__ import annotations

import shutil

import pyarrow as pa

from kinetics.corpus.index import ClipRecord, CorpusIndex
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import remove_stale_temps, temp_path
from kinetics.download.cvdf import ExtractedClip
from kinetics.download.normalise import NormaliseOptions
from kinetics.download.run import DownloadOptions, _Tally, plan_tasks
from kinetics.download.worker import ClipTask, adopt
from kinetics.executors import Outcome, WorkerLostError
from kinetics.manifests.readers import Manifest

ROWS = [("a", "aaaaaaaaaaa"), ("a", "bbbbbbbbbbb"), ("b", "ccccccccccc"), ("b", "ddddddddddd"), (None, "eeeeeeeeeee")]


def _selected() -> pa.Table:
    rows = [{"label": label, "youtube_id": y, "time_start": 1, "time_end": 4, "split": "test" if label is None else "train"} for label, y in ROWS]
    return Manifest.from_rows(rows).table


def _record(clip_id: str, status: str, attempts: int) -> ClipRecord:
    extra = {"path": "train/a/x.mp4"} if status == "ok" else {"reason": "network" if status == "failed" else "private"}
    return ClipRecord(clip_id=clip_id, youtube_id=clip_id[:11], time_start=1, time_end=4, split="train", status=status, attempts=attempts, **extra)


def test_settled_clips_are_skipped_and_failed_ones_only_on_request(tmp_path):
    index = CorpusIndex(tmp_path)
    index.record_clips([_record("aaaaaaaaaaa_000001_000004", "ok", 1), _record("bbbbbbbbbbb_000001_000004", "missing", 1),
                        _record("ccccccccccc_000001_000004", "failed", 3)])
    config = DownloadOptions(root=tmp_path).worker_config()
    layout = CorpusLayout(tmp_path)
    tasks, skipped = plan_tasks(_selected(), index, layout, config, retry_failed=False)
    assert skipped == 3 and {t.clip_id for t in tasks} == {"ddddddddddd_000001_000004", "eeeeeeeeeee_000001_000004"}
    assert {t.relpath for t in tasks} == {"train/b/ddddddddddd_000001_000004.mp4", "test/eeeeeeeeeee_000001_000004.mp4"}
    tasks, skipped = plan_tasks(_selected(), index, layout, config, retry_failed=True)
    retried = next(t for t in tasks if t.clip_id.startswith("ccc"))
    assert skipped == 2 and retried.previous_attempts == 3
    # a failed clip whose file was published by a run that then died is planned (to be adopted)
    orphan = layout.resolve("train/b/ccccccccccc_000001_000004.mp4")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    tasks, _ = plan_tasks(_selected(), index, layout, config, retry_failed=False)
    assert "ccccccccccc_000001_000004" in {t.clip_id for t in tasks}


def test_only_the_selected_clips_temporary_files_are_removed(tmp_path):
    layout = CorpusLayout(tmp_path)
    mine = layout.resolve("train/a/aaaaaaaaaaa_000001_000004.mp4")
    other = layout.resolve("train/a/bbbbbbbbbbb_000001_000004.mp4")
    mine.parent.mkdir(parents=True)
    leftovers = [temp_path(mine), temp_path(mine)]
    leftovers[1] = leftovers[1].with_name(leftovers[1].name + ".part")  # yt-dlp's own .part of our temp name
    kept = [temp_path(other), mine.parent / "notes.part", mine.parent / ".hidden", other]
    for path in leftovers + kept:
        path.write_bytes(b"")
    assert remove_stale_temps([mine, layout.resolve("train/zzz/none.mp4")]) == 2
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in kept)


def test_a_good_orphan_is_adopted_and_a_bad_one_removed(tmp_path, clip_factory):
    config = DownloadOptions(root=tmp_path).worker_config()
    task = ClipTask(clip_id="aaaaaaaaaaa_000001_000004", youtube_id="aaaaaaaaaaa", time_start=1, time_end=4, split="train",
                    label="a", label_index=0, relpath="train/a/aaaaaaaaaaa_000001_000004.mp4", version="custom",
                    config=config, previous_attempts=2)
    final = CorpusLayout(tmp_path).resolve(task.relpath)
    final.parent.mkdir(parents=True)
    assert adopt(task, final) is None  # nothing there
    shutil.copy(clip_factory(seconds=3, fps=25, width=160, height=120, audio=True), final)
    record = adopt(task, final)
    assert record.status == "ok" and record.source == "adopted" and record.attempts == 2 and record.frames == 75
    final.write_bytes(final.read_bytes()[:2000])  # a file that does not decode is not trusted
    assert adopt(task, final) is None and not final.exists()
    assert config.normalise == NormaliseOptions(threads=config.normalise.threads)


def test_a_crashed_or_lost_worker_is_tallied_for_youtube_and_cvdf_items(tmp_path):
    class Recorder:
        def __init__(self):
            self.records = []

        def add(self, records):
            self.records.extend(records)

    class Progress:
        def update(self, status, n=1):
            pass

    config = DownloadOptions(root=tmp_path).worker_config()
    task = ClipTask(clip_id="aaaaaaaaaaa_000001_000004", youtube_id="aaaaaaaaaaa", time_start=1, time_end=4, split="train",
                    label="a", label_index=0, relpath="train/a/aaaaaaaaaaa_000001_000004.mp4", version="custom",
                    config=config, previous_attempts=2)
    tally = _Tally(Recorder(), Progress(), throttle=None)
    for item in (task, ExtractedClip(task, str(tmp_path / "raw.mp4"))):  # --source cvdf hands workers ExtractedClips
        tally.take(Outcome(item, error=RuntimeError("boom")))
        tally.take(Outcome(item, error=WorkerLostError("worker died")))
    crashed = tally.recorder.records
    assert [(r.clip_id, r.status, r.reason, r.attempts) for r in crashed] == [(task.clip_id, "failed", "unknown", 3)] * 2
    assert "RuntimeError: boom" in crashed[0].message and tally.lost == 2
