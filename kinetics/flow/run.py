"""``extract_flow(FlowOptions)``: optical flow for every ok clip of a corpus, in parallel, resumable.

The run is a list of :class:`FlowJob` (clip id, video, output path, split) from one of two
sources: the ok clips of a Kinetics corpus index, or the video files of a prepared UCF-101 /
HMDB-51 root (``kinetics.data.splits.list_videos``). Each job goes to ``flow_for_clip``, a plain
picklable function that decodes the clip at the target rate, computes the flow, writes one
``.kflow`` file (``kinetics.corpus.flowfile``) and returns a ``FlowRecord``; the driver is the only
writer of ``{root}/index/flow`` and appends those records in batches.

Resumable: clips whose latest flow record for the method is ``ok`` are skipped (``overwrite``
recomputes them); a file published by a run that died before recording it is verified and
adopted rather than computed again. Frames: target frame ``k`` is stored frame
``floor(k * stored_fps / fps)`` (``kinetics.data.timebase``, the loader's rule), so field ``k``
(frame ``k`` to ``k + 1``) aligns with RGB frame ``k``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Iterator, Literal, get_args

import numpy as np

from kinetics.corpus.index import CorpusIndex, FlowRecord
from kinetics.corpus.layout import CorpusLayout
from kinetics.corpus.split_names import check_split
from kinetics.files import remove_stale_temps
from kinetics.errors import CorpusError, CorruptClipError, KineticsError
from kinetics.executors import EXECUTORS, ExecutorName
from kinetics.data.timebase import target_frame_count
from kinetics.flow.frames import read_grey_frames
from kinetics.flow.pair_progress import PairProgress, report_pairs
from kinetics.flow.methods import FlowParams, Method, check_params, compute_flow, implementation_record, params_to_dict
from kinetics.corpus.flowfile import CODECS, DEFAULT_BOUND, SUFFIX, Codec, FlowFile, write_flow_file
from kinetics.progress import Progress

Dataset = Literal["kinetics", "ucf101", "hmdb51"]
DATASETS: tuple[str, ...] = get_args(Dataset)
ADOPTED = "adopted"  # the message of a record for a file a crashed run had already written


@dataclass(frozen=True)
class FlowOptions:
    """What ``kinetics flow`` does; each field is one command-line flag."""

    root: Path
    split: str | None = None  # Kinetics only; None = every split
    method: Method = "tvl1"
    params: FlowParams | None = None  # None: the method's defaults
    dataset: Dataset = "kinetics"
    fps: float = 25.0  # target frame rate the flow is computed at
    bound: float = DEFAULT_BOUND  # pixels; values are clipped to [-bound, bound] before quantising
    codec: Codec = "zstd"
    jpeg_quality: int = 95
    overwrite: bool = False
    limit: int | None = None  # at most this many clips this run
    jobs: int = 1
    executor: ExecutorName = "local"
    address: str | None = None
    gpus_per_job: float | None = None  # GPUs a Ray worker reserves; None: 1 for tvl1-torch where the cluster has GPUs
    cpus_per_task: float | None = None  # CPUs a Ray worker reserves (and its threads); None: cores / jobs
    device: str | None = None  # tvl1-torch: None = CUDA when available
    batch_size: int = 64  # frame pairs computed (and held as float) at once
    compiled: bool | None = None  # tvl1-torch: None = on a GPU only
    progress: bool | None = None
    json_progress: IO[str] | None = None
    flush_records: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "params", check_params(self.method, self.params))
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.dataset != "kinetics" and self.split is not None:
            raise ValueError(f"--split applies to Kinetics only: {self.dataset} flow is computed once per video")
        if self.codec not in CODECS:
            raise ValueError(f"codec must be one of {CODECS}, got {self.codec!r}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps!r}")
        for name in ("gpus_per_job", "cpus_per_task"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("jobs", "batch_size", "flush_records"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must be >= 0, got {self.limit}")


@dataclass(frozen=True, slots=True)
class FlowJob:
    """One video to compute flow for. ``stored_fps``/``stored_frames`` come from the index (None: probed)."""

    clip_id: str
    video_path: str  # absolute
    output_relpath: str  # relative to the root
    split: str
    stored_fps: float | None = None
    stored_frames: int | None = None


@dataclass(frozen=True)
class FlowSettings:
    """What every job of a run shares (picklable, sent with each job)."""

    root: str
    method: Method
    params: FlowParams
    fps: float
    bound: float
    codec: Codec
    jpeg_quality: int
    device: str | None
    batch_size: int
    compiled: bool | None
    overwrite: bool = False  # recompute even where a matching file exists
    pairs_dir: str | None = None  # where workers report pairs done (kinetics.flow.pair_progress)


@dataclass(frozen=True)
class FlowSummary:
    """What a run did. ``skipped`` clips already had ok flow; ``adopted`` ones had a file but no record."""

    root: str
    method: str
    selected: int
    skipped: int
    ok: int
    adopted: int
    failed: int
    elapsed_seconds: float
    failures: tuple[tuple[str, str], ...]  # (clip_id, message), the first few


def extract_flow(options: FlowOptions) -> FlowSummary:
    """Compute and record flow for the clips of ``options``; see the module docstring."""
    from kinetics.executors import Resources, make_executor

    started = time.monotonic()
    layout = CorpusLayout(options.root)
    if not layout.root.is_dir():  # flow reads clips already there: a mistyped root must not be created
        raise CorpusError(f"corpus root {layout.root} does not exist (flow needs the clips of `kinetics download` or `kinetics prepare`)")
    index = CorpusIndex(layout.root)
    if options.dataset == "kinetics":
        if not index.exists():
            raise CorpusError(f"{layout.root} has no index (index/clips): not a corpus root, or nothing downloaded yet")
        options = replace(options, split=check_split(index, options.split))  # "vall": an error listing the splits
    layout.ensure_writable()
    jobs, skipped = plan_jobs(options, index)
    remove_stale_temps(layout.resolve(job.output_relpath) for job in jobs)
    progress = Progress(
        len(jobs) + skipped, description=f"flow {options.method}", show=options.progress, json_lines=options.json_progress
    )
    pairs = PairProgress(layout.index_dir, _pairs_total(jobs, options.fps), lambda done, total: progress.work(done, total, "pair"))
    settings = FlowSettings(
        root=str(layout.root), method=options.method, params=options.params, fps=options.fps, bound=options.bound,
        codec=options.codec, jpeg_quality=options.jpeg_quality, device=options.device,
        batch_size=options.batch_size, compiled=options.compiled, overwrite=options.overwrite,
        pairs_dir=str(pairs.directory),
    )
    threads = max(1, int(options.cpus_per_task or 0) or (os.cpu_count() or 1) // options.jobs)
    auto_gpu = options.gpus_per_job is None and options.method == "tvl1-torch"
    executor = make_executor(
        options.executor, jobs=options.jobs, address=options.address, root=layout.root,
        resources=Resources(
            cpus=float(threads) if options.cpus_per_task is None else options.cpus_per_task,
            gpus=1.0 if auto_gpu else options.gpus_per_job or 0.0, optional_gpus=auto_gpu,
        ),
    )
    pending: list[FlowRecord] = []
    adopted, failures = 0, []
    with progress, executor, pairs:
        if skipped:
            progress.update("skipped", skipped)
        try:
            work = functools.partial(flow_for_clip, settings=settings)
            setup = functools.partial(limit_threads, threads, torch_too=options.method == "tvl1-torch")
            for outcome in executor.map_unordered(work, jobs, setup=setup):
                record = outcome.result if outcome.ok else _crashed(outcome.item, settings, outcome.error)
                pending.append(record)
                adopted += record.message == ADOPTED
                pairs.finished(record.clip_id, record.frames or 0 if record.status == "ok" else 0)
                if record.status != "ok" and len(failures) < 20:
                    failures.append((record.clip_id, record.message or ""))
                progress.update(record.status)
                if len(pending) >= options.flush_records:
                    index.record_flow(pending)
                    pending = []
        finally:
            index.record_flow(pending)
    index.compact_if_fragmented()
    c = progress.counts
    return FlowSummary(
        root=str(layout.root), method=options.method, selected=len(jobs) + skipped, skipped=skipped, ok=c.ok,
        adopted=adopted, failed=c.failed, elapsed_seconds=round(time.monotonic() - started, 3), failures=tuple(failures),
    )


# -- jobs ----------------------------------------------------------------------------------------
def plan_jobs(options: FlowOptions, index: CorpusIndex) -> tuple[list[FlowJob], int]:
    """The jobs still to do for ``options``, and how many clips already have ok flow."""
    import pyarrow.compute as pc

    source = corpus_jobs(index, options.split, options.method) if options.dataset == "kinetics" else folder_jobs(
        index.root, options.dataset, options.method
    )
    split = options.split if options.dataset == "kinetics" else _folder_split()
    done: set[str] = set()
    if not options.overwrite:
        flow = index.flow_state(split, options.method, columns=["clip_id", "status"])
        done = set(flow.filter(pc.equal(flow.column("status"), "ok")).column("clip_id").to_pylist())
    jobs, skipped = [], 0
    for job in source:
        if job.clip_id in done:
            skipped += 1
        elif options.limit is None or len(jobs) < options.limit:
            jobs.append(job)
    return jobs, skipped


def corpus_jobs(index: CorpusIndex, split: str | None, method: str) -> Iterator[FlowJob]:
    """One job per ok clip of a Kinetics corpus (``split`` None: every split)."""
    import pyarrow.compute as pc

    layout = index.layout
    state = index.clip_state(split, columns=["clip_id", "split", "label", "status", "path", "fps", "frames"])
    ok = state.filter(pc.and_(pc.equal(state.column("status"), "ok"), pc.is_valid(state.column("path"))))
    columns = [ok.column(name).to_pylist() for name in ("clip_id", "split", "label", "path", "fps", "frames")]
    for clip_id, clip_split, label, path, fps, frames in zip(*columns):  # column lists: light at 650k clips
        yield FlowJob(
            clip_id=clip_id, video_path=str(layout.resolve(path)),
            output_relpath=layout.flow_relpath(method, clip_split, label, clip_id, SUFFIX),
            split=clip_split, stored_fps=fps, stored_frames=frames,
        )


def folder_jobs(root: Path, dataset: Dataset, method: str) -> Iterator[FlowJob]:
    """One job per video file of a prepared UCF-101 / HMDB-51 root (recorded under split "all")."""
    from kinetics.data.splits import list_videos

    for video in list_videos(root, dataset):
        yield FlowJob(video.clip_id, str(video.path), video.flow_relpath(method, SUFFIX), video.split)


def _folder_split() -> str:
    from kinetics.data.splits import FLOW_SPLIT

    return FLOW_SPLIT


# -- one clip (runs in a worker) ---------------------------------------------------------------------
def limit_threads(threads: int, *, torch_too: bool) -> None:
    """Per worker: OpenCV (and torch) use ``threads`` threads, so --jobs workers share the cores."""
    import cv2

    cv2.setNumThreads(threads)
    if torch_too:
        import torch

        torch.set_num_threads(threads)


def flow_for_clip(job: FlowJob, *, settings: FlowSettings) -> FlowRecord:
    """Decode, compute, write and describe one clip's flow; expected failures become failed records."""
    started = time.monotonic()
    final = CorpusLayout(Path(settings.root)).resolve(job.output_relpath)
    stored = file_params(settings)
    try:
        existing = None if settings.overwrite else _adoptable(final, settings, stored)
        if existing is not None:
            return _record(job, settings, existing, seconds=0.0, message=ADOPTED)
        grey = read_grey_frames(job.video_path, target_fps=settings.fps, stored_fps=job.stored_fps, stored_frames=job.stored_frames)
        if len(grey) < 2:
            raise CorruptClipError(job.video_path, f"{len(grey)} frame(s) at {settings.fps:g} fps: flow needs at least 2")
        write_flow_file(
            final, _fields(grey, settings, job.clip_id), fps=settings.fps, bound=settings.bound, method=settings.method,
            params=stored, codec=settings.codec, quality=settings.jpeg_quality,
        )
        with FlowFile.open(final) as written:
            return _record(job, settings, written, seconds=time.monotonic() - started)
    except (KineticsError, ValueError, OSError, MemoryError) as err:
        return FlowRecord(
            clip_id=job.clip_id, split=job.split, method=settings.method, status="failed",
            message=f"{type(err).__name__}: {err}", compute_seconds=round(time.monotonic() - started, 3),
        )


def file_params(settings: FlowSettings) -> dict:
    """The parameters written into each file (and the index): the method's, plus which implementation
    computed it and the software versions (``tvl1`` names its implementation, e.g. ``tvl1-numba``)."""
    return {**params_to_dict(settings.params), "software": implementation_record(settings.method, settings.params)}


def _fields(grey: np.ndarray, settings: FlowSettings, clip_id: str = "") -> Iterator[np.ndarray]:
    """Flow fields in chunks of ``batch_size`` pairs, so a long video never holds all its float flow.
    After each chunk the pairs done so far are reported, so the driver's bar moves within a clip."""
    for start in range(0, len(grey) - 1, settings.batch_size):
        stop = min(start + settings.batch_size, len(grey) - 1)
        yield from compute_flow(
            grey[start : stop + 1], method=settings.method, params=settings.params, device=settings.device,
            batch_size=settings.batch_size, compiled=settings.compiled,
        )
        report_pairs(settings.pairs_dir, clip_id, stop)


def _pairs_total(jobs: list[FlowJob], fps: float) -> int | None:
    """Frame pairs the jobs will compute, when the index knows every clip's frames (None otherwise)."""
    total = 0
    for job in jobs:
        if not (job.stored_frames and job.stored_fps):
            return None
        total += max(0, target_frame_count(job.stored_frames, job.stored_fps, fps) - 1)
    return total


def _adoptable(final: Path, settings: FlowSettings, stored: dict) -> FlowFile | None:
    """An existing complete file made with these settings (left by a run that died before recording it)."""
    if not final.is_file():
        return None
    try:
        flow = FlowFile.open(final)
    except KineticsError:
        return None
    same = (
        flow.method == settings.method and flow.fps == settings.fps and flow.bound == settings.bound
        and flow.codec == settings.codec and _without_software(flow.params) == _without_software(stored)
    )
    flow.close()
    return flow if same else None


def _without_software(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "software"}


def _record(job: FlowJob, settings: FlowSettings, flow: FlowFile, *, seconds: float, message: str | None = None) -> FlowRecord:
    return FlowRecord(
        clip_id=job.clip_id, split=job.split, method=settings.method, status="ok", path=job.output_relpath,
        message=message, frames=flow.num_fields, width=flow.width, height=flow.height, fps=flow.fps, bound=flow.bound,
        params=json.dumps(flow.params, sort_keys=True), compute_seconds=round(seconds, 3),
    )


def _crashed(job: FlowJob, settings: FlowSettings, error: BaseException | None) -> FlowRecord:
    """A job that raised something unexpected, or whose worker died: recorded as failed, the run goes on."""
    return FlowRecord(
        clip_id=job.clip_id, split=job.split, method=settings.method, status="failed",
        message=f"worker failed: {type(error).__name__}: {error}",
    )
