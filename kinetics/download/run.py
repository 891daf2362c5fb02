"""``download_clips(DownloadOptions)``: select clips, fetch them in parallel, record every attempt.

The driver is the only writer of the index for its run: it records the selected manifest rows
(``add_targets``) first, hands workers picklable ``ClipTask``s, and appends the records they
return in batches (at least every ``flush_seconds`` and at exit or interrupt). It is resumable
and idempotent: clips whose latest record is ``ok`` or ``missing`` are skipped, ``failed`` ones
too unless ``retry_failed``, and a published file that lost its record in a crash is verified
and adopted instead of being fetched again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from kinetics.corpus.index import ClipRecord, CorpusIndex, utcnow
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import remove_stale_temps
from kinetics.corpus.reasons import Reason
from kinetics.download.classify import Failure
from kinetics.download.cookies import run_cookie_dir
from kinetics.download.cvdf import CVDF_BASE_URL, CvdfMirror, ExtractedClip, fetch_from_cvdf
from kinetics.download.normalise import NormaliseOptions, Preset
from kinetics.download.select import Selection, select_clips
from kinetics.download.throttle import BackoffPolicy, SharedThrottle
from kinetics.download.worker import ClipTask, DiskFullError, WorkerConfig, clip_record, process_clip
from kinetics.download.youtube import DEFAULT_URL_TEMPLATE, CookiesFromBrowser, FetchOptions
from kinetics.errors import CorpusError, KineticsError
from kinetics.executors import EXECUTORS, ExecutorName, WorkerLostError
from kinetics.ffmpeg import find_ffmpeg
from kinetics.manifests.readers import Manifest
from kinetics.progress import Progress

_log = logging.getLogger(__name__)

Source = Literal["youtube", "cvdf"]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DownloadOptions:
    """What ``kinetics download`` does; each field is one command-line flag."""

    root: Path
    version: str = "400"
    manifest: Path | None = None  # any CSV/JSON/Parquet manifest instead of the official one
    source: Source = "youtube"
    base_url: str = CVDF_BASE_URL  # --source cvdf: where the part lists and parts are
    selection: Selection = field(default_factory=Selection)
    short_side: int = 256  # pixels; 0 keeps the original size
    fps: float | None = None
    audio: bool = True
    keyframe_interval_seconds: float = 0.5
    crf: int = 23
    preset: Preset = "veryfast"
    jobs: int = 1
    executor: ExecutorName = "local"
    address: str | None = None
    cpus_per_task: float | None = None  # --executor ray: CPUs each worker reserves (None: 1)
    throttle_group: str | None = None  # hosts sharing one public address share one back-off (None: per host)
    url_template: str = DEFAULT_URL_TEMPLATE
    sleep_seconds: float = 0.0
    rate_limit: int | None = None  # bytes per second, per worker
    cookies: Path | None = None
    cookies_from_browser: str | None = None
    proxy: str | None = None
    max_attempts: int = 3
    retry_pause_seconds: float = 5.0
    retry_failed: bool = False
    backoff_base_seconds: float = 60.0
    backoff_cap_seconds: float = 1800.0
    socket_timeout_seconds: float = 20.0
    stall_timeout_seconds: float = 30.0
    duration_tolerance_seconds: float = 0.5
    ffmpeg: str | None = None
    progress: bool | None = None  # None: a bar when stderr is a terminal
    flush_seconds: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")
        if self.cpus_per_task is not None and not self.cpus_per_task > 0:
            raise ValueError(f"cpus_per_task must be positive, got {self.cpus_per_task}")
        if self.throttle_group is not None and not self.throttle_group.strip():
            raise ValueError("throttle_group must not be empty")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("retry_pause_seconds", "duration_tolerance_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.cookies is not None and not Path(self.cookies).is_file():
            raise ValueError(f"cookies file not found: {self.cookies}")

    def worker_config(self) -> WorkerConfig:
        """The per-task configuration; raises ValueError naming any bad value."""
        browser = CookiesFromBrowser.parse(self.cookies_from_browser) if self.cookies_from_browser else None
        if browser is not None:
            browser.check()
        fetch = FetchOptions(
            url_template=self.url_template, short_side_pixels=self.short_side, audio=self.audio,
            socket_timeout_seconds=self.socket_timeout_seconds, stall_timeout_seconds=self.stall_timeout_seconds,
            sleep_seconds=self.sleep_seconds, rate_limit_bytes=self.rate_limit,
            cookies=str(self.cookies) if self.cookies else None, cookies_from_browser=browser,
            proxy=self.proxy, ffmpeg_path=self.ffmpeg,
        )
        normalise = NormaliseOptions(
            short_side_pixels=self.short_side, fps=self.fps, audio=self.audio,
            keyframe_interval_seconds=self.keyframe_interval_seconds, crf=self.crf, preset=self.preset,
            threads=max(1, int(self.cpus_per_task or 0) or (os.cpu_count() or 1) // self.jobs),
        )
        return WorkerConfig(
            root=str(CorpusLayout(self.root).root), fetch=fetch, normalise=normalise,
            backoff=BackoffPolicy(self.backoff_base_seconds, self.backoff_cap_seconds),
            max_attempts=self.max_attempts, retry_pause_seconds=self.retry_pause_seconds,
            duration_tolerance_seconds=self.duration_tolerance_seconds, throttle_group=self.throttle_group,
        )


@dataclass(frozen=True)
class DownloadSummary:
    """What a run did. ``skipped`` clips were already settled (ok, missing, or failed without --retry-failed)."""

    root: str
    selected: int
    skipped: int
    ok: int
    adopted: int
    missing: int
    failed: int
    attempts: int
    reasons: dict[str, int]
    elapsed_seconds: float
    throttle_events: int
    absent: int = 0  # --source cvdf: selected clips the mirror does not have (left pending, no record)
    lost: int = 0  # clips whose worker died mid-task (left pending: a re-run fetches them)

    @property
    def fetched(self) -> int:
        return self.ok + self.missing + self.failed


def download_clips(options: DownloadOptions) -> DownloadSummary:
    """Fetch the selected clips into ``options.root``; see the module docstring for the guarantees."""
    started = time.monotonic()
    try:
        config = options.worker_config()
        mirror = CvdfMirror(options.base_url, options.version) if options.source == "cvdf" else None
    except ValueError as err:
        raise KineticsError(str(err)) from err
    with run_cookie_dir(config) as config:  # removes the workers' cookie copies however the run ends
        return _download(options, config, mirror, started)


def _download(options: DownloadOptions, config: WorkerConfig, mirror: CvdfMirror | None, started: float) -> DownloadSummary:
    find_ffmpeg(options.ffmpeg)  # a missing ffmpeg is fatal now, not one failed clip at a time
    layout = CorpusLayout(options.root)
    layout.ensure_writable()
    manifest, source = _load_manifest(options)
    selected = select_clips(manifest, options.selection, source=source)
    index = CorpusIndex(layout.root)
    index.add_targets(selected)
    tasks, skipped = plan_tasks(selected, index, layout, config, retry_failed=options.retry_failed)
    remove_stale_temps(layout.resolve(task.relpath) for task in tasks)
    throttle = SharedThrottle(layout.root, config.backoff, host=options.throttle_group)
    events_before = throttle.state().events
    executor = _executor(options)
    absent: set[str] = set()
    with Progress(len(selected), description="download", show=options.progress) as progress:
        tally = _Tally(_Recorder(index, options.flush_seconds), progress, throttle)
        if skipped:
            progress.update("skipped", skipped)
        if tasks:
            _note_waiting(progress, throttle)  # a back-off left by an earlier run: say why nothing moves
        try:
            with executor:
                def run(fn, items) -> None:
                    for outcome in executor.map_unordered(fn, items):  # workers die with this driver (see executors.local)
                        tally.take(outcome)

                if mirror is None:
                    run(process_clip, tasks)
                else:
                    absent = fetch_from_cvdf(tasks, mirror=mirror, layout=layout, run=run, flush=tally.recorder.flush, note=progress.warn)
        except BaseException:
            # The pool is gone with every process it started: what they were writing is garbage, and on a
            # full disk its space is needed now, not at the next run.
            remove_stale_temps(layout.resolve(task.relpath) for task in tasks)
            raise
        finally:
            tally.recorder.close()
    index.compact_if_fragmented()
    c = progress.counts
    return DownloadSummary(
        root=str(layout.root), selected=len(selected), skipped=skipped, ok=c.ok, adopted=tally.adopted,
        missing=c.missing, failed=c.failed, attempts=tally.attempts, reasons=dict(sorted(tally.reasons.items())),
        elapsed_seconds=round(time.monotonic() - started, 3), throttle_events=throttle.state().events - events_before,
        absent=len(absent), lost=tally.lost,
    )


class _Tally:
    """Takes each task's outcome: records to the index, counts to the summary and the progress bar."""

    def __init__(self, recorder: "_Recorder", progress: Progress, throttle: SharedThrottle):
        self.recorder = recorder
        self.progress = progress
        self.throttle = throttle
        self.attempts = 0
        self.adopted = 0
        self.lost = 0
        self.reasons: Counter = Counter()

    def take(self, outcome) -> None:
        if isinstance(outcome.error, DiskFullError):
            raise outcome.error
        task = outcome.item.task if isinstance(outcome.item, ExtractedClip) else outcome.item  # --source cvdf items wrap theirs
        if isinstance(outcome.error, WorkerLostError):
            # The clip did nothing wrong: leave it unrecorded (pending) so a plain re-run fetches it.
            self.lost += 1
            _log.warning("%s: %s; left pending for the next run", task.clip_id, outcome.error)
            self.progress.update("failed")
            return
        records = outcome.result if outcome.ok else (_crashed(task, outcome.error),)
        if not records:
            return
        self.recorder.add(records)
        last = records[-1]
        self.attempts += sum(1 for r in records if r.source != "adopted")
        self.adopted += last.source == "adopted"
        if last.reason:
            self.reasons[last.reason] += 1
        if any(r.reason == Reason.THROTTLED.value for r in records):
            _note_backoff(self.progress, self.throttle)
        self.progress.update(last.status)


def plan_tasks(selected: pa.Table, index: CorpusIndex, layout: CorpusLayout, config: WorkerConfig, *, retry_failed: bool) -> tuple[list[ClipTask], int]:
    """Tasks for the clips that still need work, and how many selected clips are already settled."""
    state = index.clip_state(columns=["clip_id", "status", "attempts"])
    latest = dict(zip(state.column("clip_id").to_pylist(), zip(state.column("status").to_pylist(), state.column("attempts").to_pylist())))
    tasks: list[ClipTask] = []
    skipped = 0
    for row in selected.to_pylist():
        relpath = layout.clip_relpath(row["split"], row["label"], row["clip_id"])
        status, attempts = latest.get(row["clip_id"], (None, 0))
        if status in ("ok", "missing") or (status == "failed" and not retry_failed and not layout.resolve(relpath).is_file()):
            skipped += 1
            continue
        tasks.append(ClipTask(
            clip_id=row["clip_id"], youtube_id=row["youtube_id"], time_start=row["time_start"], time_end=row["time_end"],
            split=row["split"], label=row["label"], label_index=row["label_index"], relpath=relpath,
            version=row["version"], config=config, previous_attempts=int(attempts or 0),
        ))
    return tasks, skipped


class _Recorder:
    """Buffers records and appends them to the index from the driver, at least every ``flush_seconds``."""

    def __init__(self, index: CorpusIndex, flush_seconds: float):
        self._index = index
        self._buffer: list[ClipRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: CorpusError | None = None
        self._thread = threading.Thread(target=self._run, args=(flush_seconds,), name="kinetics-index-flush", daemon=True)
        self._thread.start()

    def add(self, records) -> None:
        if self._error is not None:  # the flusher could not write: stop the run, keep the records
            raise self._error
        with self._lock:
            self._buffer.extend(records)

    def flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
            if batch:
                try:
                    self._index.record_clips(batch)
                except CorpusError:
                    self._buffer[:0] = batch
                    raise

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.flush()
            except CorpusError as err:
                self._error = err
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()


def _load_manifest(options: DownloadOptions) -> tuple[Manifest, str]:
    if options.manifest is not None:
        return Manifest.from_file(options.manifest, strict=True), str(options.manifest)
    from kinetics.manifests.sources import load_manifest

    return load_manifest(options.version, options.selection.split), f"Kinetics-{options.version}"


def _executor(options: DownloadOptions):
    from kinetics.executors import Resources, make_executor

    return make_executor(  # a missing Ray raises MissingDependencyError, saying what to install
        options.executor, jobs=options.jobs, address=options.address, root=options.root,
        resources=Resources(cpus=options.cpus_per_task or 1.0),
    )


def _crashed(task: ClipTask, error: BaseException | None) -> ClipRecord:
    """A task that raised (a bug): recorded as failed so the run goes on."""
    failure = Failure(Reason.UNKNOWN, f"worker failed: {type(error).__name__}: {error}")
    return clip_record(task, utcnow(), attempts=task.previous_attempts + 1, failure=failure)


def _note_waiting(progress: Progress, throttle: SharedThrottle) -> None:
    """Say that workers will wait before their first request, for how long and why."""
    seconds, state = throttle.pending_wait()
    if seconds <= 0:
        return
    until = datetime.fromtimestamp(time.time() + seconds).strftime("%H:%M:%S")
    capped = " (capped by --backoff-cap)" if state.resume_at - time.time() > seconds + 1 else ""
    why = f": {state.message}" if state.message else ""
    message = (f"waiting {seconds:.0f} s until {until}{capped} before the first request: "
               f"back-off recorded in {throttle.path}{why}")
    progress.warn(message)


def _note_backoff(progress: Progress, throttle: SharedThrottle) -> None:
    state = throttle.state()
    if state.resume_at > time.time():
        until = datetime.fromtimestamp(state.resume_at).strftime("%H:%M:%S")
        progress.note(f"throttled by the server: every worker pauses until {until} ({state.delay_seconds:g} s back-off)")
