"""One clip, start to finish, in a worker process: adopt or fetch, normalise, verify, publish.

``process_clip(task)`` is the unit of work: a plain picklable function of one ``ClipTask`` that
returns the ``ClipRecord``s of its attempts and never raises for an expected failure, so any
executor (the local pool, Ray) can run it. Each worker builds its YoutubeDL, throttle handle and
ffmpeg once, on the first task it sees, and keeps them for the tasks that follow.

Files: yt-dlp writes the raw window to a hidden ``.<clip>.mp4.<hex>.part`` beside the final
path, the encoder writes another such name, and only a verified encode is renamed to
``<clip>.mp4``. A crash at any point leaves temporary names only, which the next run removes.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from kinetics.corpus.index import ClipRecord, utcnow
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import publish, temp_path
from kinetics.corpus.reasons import Reason
from kinetics.download.classify import Failure, classify_message
from kinetics.download.normalise import ClipProbe, NormaliseOptions, normalise, probe_header, verify_clip
from kinetics.download.throttle import BackoffPolicy, SharedThrottle
from kinetics.download.youtube import (
    FetchFailed,
    FetchOptions,
    YoutubeFetcher,
    probe_remote_duration,
)
from kinetics.errors import CorpusError, CorruptClipError
from kinetics.ffmpeg import FFmpeg, FFmpegError, find_ffmpeg


_ENOSPC_EXIT = 256 - errno.ENOSPC  # ffmpeg >= 7 exits with AVERROR(ENOSPC) & 0xff
#: A failed clip whose directory cannot take this much more is blamed on the disk, not the clip.
ROOM_BYTES = 1 << 20


class DiskFullError(CorpusError):
    """The corpus filesystem is full: every further clip would fail too, so the run stops.

    Raised instead of recording the clip, so that a plain re-run, once space is freed, fetches it.
    """

    def __init__(self, directory: Path | str, cause: str):
        self.directory = str(directory)
        self.cause = cause
        super().__init__(f"no space left on the device holding {directory} (No space left on device): {cause}")

    def __reduce__(self):  # it crosses from worker processes to the driver
        return (type(self), (self.directory, self.cause))


@dataclass(frozen=True)
class WorkerConfig:
    """What every task of one run shares (hashable: workers cache their state by it)."""

    root: str
    fetch: FetchOptions
    normalise: NormaliseOptions
    backoff: BackoffPolicy
    max_attempts: int = 3
    retry_pause_seconds: float = 5.0
    duration_tolerance_seconds: float = 0.5
    throttle_group: str | None = None  # the back-off file's name; None: this host's name


@dataclass(frozen=True)
class ClipTask:
    """One manifest row to fetch, with where it goes and how often it was tried before."""

    clip_id: str
    youtube_id: str
    time_start: float
    time_end: float
    split: str
    label: str | None
    label_index: int
    relpath: str
    version: str
    config: WorkerConfig
    previous_attempts: int = 0

    @property
    def window_seconds(self) -> float:
        return self.time_end - self.time_start


class _Worker:
    def __init__(self, config: WorkerConfig):
        self.config = config
        self.layout = CorpusLayout(Path(config.root))
        self.ffmpeg: FFmpeg = find_ffmpeg(config.fetch.ffmpeg_path)
        self.fetcher = YoutubeFetcher(config.fetch, ffmpeg=self.ffmpeg)
        self.throttle = SharedThrottle(config.root, config.backoff, host=config.throttle_group)


_WORKERS: dict[WorkerConfig, _Worker] = {}


def _worker(config: WorkerConfig) -> _Worker:
    worker = _WORKERS.get(config)
    if worker is None:
        for old in _WORKERS.values():
            old.fetcher.close()
        _WORKERS.clear()
        worker = _WORKERS[config] = _Worker(config)
    return worker


def close_workers() -> None:
    """Close this process's fetchers (``--jobs 1`` runs tasks here): the end of a run removes their cookie copies."""
    for old in _WORKERS.values():
        old.fetcher.close()
    _WORKERS.clear()


def process_clip(task: ClipTask) -> tuple[ClipRecord, ...]:
    """Fetch one clip with bounded retries; return one record per attempt (the last is its state).

    Raises DiskFullError (the one failure that is not the clip's) when the root's disk is full.
    """
    worker = _worker(task.config)
    final = worker.layout.resolve(task.relpath)
    adopted = adopt(task, final)
    if adopted is not None:
        return (adopted,)
    records: list[ClipRecord] = []
    config = task.config
    for attempt in range(1, config.max_attempts + 1):
        worker.throttle.wait()
        started = utcnow()
        request_started = time.time()
        try:
            probe = _attempt(worker, task, final)
        except FetchFailed as failed:
            failure = failed.failure  # a full disk was already raised as DiskFullError by _attempt
            records.append(clip_record(task, started, attempts=task.previous_attempts + attempt, failure=failure))
            if failure.backoff:
                worker.throttle.report_throttled(request_started_at=request_started, message=failure.message)
            if failure.reason.permanent or not failure.reason.retry_in_run or attempt == config.max_attempts:
                break
            if not failure.backoff:
                time.sleep(config.retry_pause_seconds * 2 ** (attempt - 1))
            continue
        worker.throttle.report_success(request_started_at=request_started)
        records.append(clip_record(task, started, attempts=task.previous_attempts + attempt, probe=probe))
        break
    return tuple(records)


def _attempt(worker: _Worker, task: ClipTask, final: Path) -> ClipProbe:
    """Fetch, check, normalise, verify and publish; raise FetchFailed with a classified reason."""
    config = task.config
    final.parent.mkdir(parents=True, exist_ok=True)
    raw = temp_path(final)
    encoded = temp_path(final)
    began = time.monotonic()
    try:
        section = worker.fetcher.fetch(task.youtube_id, start_seconds=task.time_start, end_seconds=task.time_end, raw_path=raw)
        raw_probe = _probe_raw(section.path)
        _pace_rate(config.fetch.rate_limit_bytes, raw_probe.bytes, began)
        if raw_probe.duration_seconds < task.window_seconds - config.duration_tolerance_seconds:
            raise FetchFailed(_short_failure(task, section, raw_probe.duration_seconds))
        return encode_and_publish(section.path, raw_probe, encoded, final, task=task, ffmpeg=worker.ffmpeg)
    except FetchFailed as failed:  # checked before the partial files go: they are what fills the disk
        raise_if_disk_full(final.parent, failed.failure.message, cause=failed, probe=failed.failure.reason in DISK_SUSPECTS)
        raise
    except OSError as err:  # permissions, a full disk: reported with the clip unless the disk is full
        raise_if_disk_full(final.parent, f"{type(err).__name__}: {err}", cause=err, errno_=err.errno)
        raise FetchFailed(Failure(Reason.UNKNOWN, f"{type(err).__name__}: {err}")) from err
    finally:
        for leftover in final.parent.glob(f"{raw.name}*"):
            leftover.unlink(missing_ok=True)
        encoded.unlink(missing_ok=True)


def disk_full(message: str) -> bool:
    return "No space left on device" in message or f"ffmpeg exited with code {_ENOSPC_EXIT}" in message or "Disk quota exceeded" in message


#: Reasons a full disk can hide behind (a write failed, or a file came out short); the rest
#: (unavailable, private, throttled...) come from the site before anything is written.
DISK_SUSPECTS = frozenset({Reason.FFMPEG_ERROR, Reason.CORRUPT_OUTPUT, Reason.UNKNOWN, Reason.NETWORK, Reason.WINDOW_OUT_OF_RANGE})


def raise_if_disk_full(directory: Path, message: str, *, cause: BaseException | None = None, errno_: int | None = None,
                       probe: bool = True) -> None:
    """Raise DiskFullError when a failure is the disk's: said so, or (``probe``) the directory has no room left.

    A full disk does not always say so: yt-dlp's ffmpeg prints to the terminal and yt-dlp reports
    only "exited with code N" (1 before ffmpeg 7), and a section cut short by the disk looks like
    a broken transfer. So after such a failure the directory is tried for real (``no_room``).
    """
    if errno_ in (errno.ENOSPC, errno.EDQUOT) or disk_full(message) or (probe and no_room(directory)):
        raise DiskFullError(directory, message) from cause


def no_room(directory: Path, *, need_bytes: int = ROOM_BYTES) -> bool:
    """True when ``directory`` cannot take ``need_bytes`` more: written and synced for real, since
    free-space figures miss quotas, reserved blocks and compression. Other errors say nothing."""
    probe = temp_path(Path(directory) / "room-probe")
    try:
        handle = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            block = os.urandom(min(need_bytes, 1 << 16))  # incompressible
            for _ in range(max(1, need_bytes // len(block))):
                os.write(handle, block)
            os.fsync(handle)  # delayed allocation reports ENOSPC only here
        finally:
            os.close(handle)
    except OSError as err:
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        probe.unlink(missing_ok=True)
    return False


def encode_and_publish(source: Path, source_probe: ClipProbe, encoded: Path, final: Path, *, task: ClipTask, ffmpeg: FFmpeg) -> ClipProbe:
    """Normalise ``source`` to the temporary ``encoded``, verify it, rename it to ``final``. Raises FetchFailed."""
    config = task.config
    try:
        normalise(source, encoded, duration_seconds=task.window_seconds, source_probe=source_probe,
                  options=config.normalise, ffmpeg=ffmpeg)
        probe = verify_clip(encoded, expected_seconds=task.window_seconds, tolerance_seconds=config.duration_tolerance_seconds)
    except FFmpegError as err:  # input that does not decode is a broken transfer, not an encoder fault
        broken = classify_message(err.stderr).reason is Reason.CORRUPT_OUTPUT
        raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT if broken else Reason.FFMPEG_ERROR, str(err))) from err
    except subprocess.TimeoutExpired as err:
        raise FetchFailed(Failure(Reason.FFMPEG_ERROR, f"encoding took longer than {err.timeout:g} s")) from err
    except CorruptClipError as err:
        raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT, str(err))) from err
    publish(encoded, final)
    return probe


def _probe_raw(path: Path) -> ClipProbe:
    try:
        return probe_header(path)
    except CorruptClipError as err:
        raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT, str(err))) from err


def _short_failure(task: ClipTask, section, got_seconds: float) -> Failure:
    """A short section is the video ending early (permanent) or a broken transfer (transient)."""
    duration = section.source_duration_seconds
    if duration is None and section.media_url:
        timeout = task.config.fetch.socket_timeout_seconds
        duration = probe_remote_duration(section.media_url, headers=section.http_headers, timeout_seconds=timeout)
    tolerance = task.config.duration_tolerance_seconds
    if duration is not None and task.time_end > duration + tolerance:
        return Failure(Reason.WINDOW_OUT_OF_RANGE,
                       f"window {task.time_start:g}-{task.time_end:g} s ends after the video ({duration:.3f} s); got {got_seconds:.3f} s")
    known = f"the video lasts {duration:.3f} s" if duration is not None else "the video's length is unknown"
    return Failure(Reason.CORRUPT_OUTPUT,
                   f"fetched {got_seconds:.3f} s of a {task.window_seconds:g} s window ({known}): incomplete transfer")


def adopt(task: ClipTask, final: Path) -> ClipRecord | None:
    """A clip published by a run that died before recording it: verify it and keep it."""
    if not final.is_file():
        return None
    started = utcnow()
    try:
        probe = verify_clip(final, expected_seconds=task.window_seconds, tolerance_seconds=task.config.duration_tolerance_seconds)
    except CorruptClipError:
        final.unlink(missing_ok=True)
        return None
    return replace(clip_record(task, started, attempts=task.previous_attempts, probe=probe), source="adopted")


def _pace_rate(rate_limit_bytes: int | None, fetched_bytes: int, began: float) -> None:
    """ffmpeg's ranged downloads ignore yt-dlp's ratelimit: keep the worker's average under it."""
    if rate_limit_bytes:
        wait = fetched_bytes / rate_limit_bytes - (time.monotonic() - began)
        if wait > 0:
            time.sleep(wait)


def clip_record(task: ClipTask, started: datetime, *, attempts: int, probe: ClipProbe | None = None,
                failure: Failure | None = None, source: str = "youtube") -> ClipRecord:
    """The index row for one attempt: ``ok`` with what the file holds, or the failure's reason and message."""
    common = dict(
        clip_id=task.clip_id, youtube_id=task.youtube_id, time_start=task.time_start, time_end=task.time_end,
        split=task.split, label=task.label, label_index=task.label_index, attempts=attempts,
        version=task.version, source=source, started_at=started, finished_at=utcnow(),
    )
    if failure is not None:
        return ClipRecord(status=failure.reason.status, reason=failure.reason.value, message=failure.message, **common)
    assert probe is not None
    return ClipRecord(
        status="ok", path=task.relpath, bytes=probe.bytes, duration=probe.duration_seconds, fps=probe.fps,
        width=probe.width, height=probe.height, frames=probe.frames, codec=probe.codec, has_audio=probe.has_audio,
        **common,
    )
