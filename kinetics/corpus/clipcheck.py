"""Check one clip file: there, not empty, decodes to the end, lasts what the index and window say.

``check_clip`` is a plain function of one picklable task so that ``kinetics audit --deep`` can
fan it out over kinetics.executors (local processes or Ray) like any other per-clip work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

Problem = Literal["vanished", "zero_byte", "truncated", "undecodable", "wrong_duration"]
PROBLEMS: tuple[str, ...] = get_args(Problem)


@dataclass(frozen=True)
class ClipCheckTask:
    clip_id: str
    path: str  # absolute
    decode: bool = True  # False: only stat the file (size checks)
    window_seconds: float | None = None  # time_end - time_start of the annotation
    recorded_seconds: float | None = None  # duration the index recorded when the clip was made
    recorded_bytes: int | None = None
    tolerance_seconds: float = 0.5
    scanned_bytes: int | None = None  # size already seen by a directory scan (saves a stat per clip)


@dataclass(frozen=True)
class ClipCheck:
    """What was found. ``problem`` is None for a healthy file; the media fields are set when decoded."""

    clip_id: str
    path: str
    bytes: int | None = None
    problem: Problem | None = None
    message: str | None = None
    duration: float | None = None  # seconds of decoded video
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    codec: str | None = None
    has_audio: bool | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_clip(task: ClipCheckTask) -> ClipCheck:
    """Stat (and, with ``decode``, fully decode) one clip; never raises for a bad file."""
    try:
        size = task.scanned_bytes if task.scanned_bytes is not None and not task.decode else os.stat(task.path).st_size
    except FileNotFoundError:
        return ClipCheck(task.clip_id, task.path, problem="vanished", message="the file is gone")
    except OSError as err:
        return ClipCheck(task.clip_id, task.path, problem="vanished", message=f"cannot stat: {err.strerror or err}")
    if size == 0:
        return ClipCheck(task.clip_id, task.path, 0, "zero_byte", "the file is empty")
    if task.recorded_bytes and size < task.recorded_bytes:
        return ClipCheck(task.clip_id, task.path, size, "truncated", f"{size} bytes on disk, {task.recorded_bytes} when recorded")
    if not task.decode:
        problem, message = _duration_problem(task, task.recorded_seconds, None)
        return ClipCheck(task.clip_id, task.path, size, problem, message)
    return _decoded(task, size)


def _decoded(task: ClipCheckTask, size: int) -> ClipCheck:
    import av

    try:
        with av.open(task.path, metadata_errors="ignore") as container:
            if not container.streams.video:
                return ClipCheck(task.clip_id, task.path, size, "undecodable", "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            declared = container.duration / 1_000_000 if container.duration else None
            length = decoded_length(container, stream)
            width, height, codec = stream.codec_context.width, stream.codec_context.height, stream.codec_context.name
            has_audio = bool(container.streams.audio)
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as err:
        return ClipCheck(task.clip_id, task.path, size, "undecodable", f"PyAV: {err}")
    if length.frames == 0:
        return ClipCheck(task.clip_id, task.path, size, "undecodable", "no frame decodes")
    duration, fps, frames = length.seconds, length.fps, length.frames
    media = dict(duration=duration, fps=fps, width=width, height=height, frames=frames, codec=codec, has_audio=has_audio)
    problem, message = _duration_problem(task, duration, declared)
    return ClipCheck(task.clip_id, task.path, size, problem, message, **media)


@dataclass(frozen=True)
class DecodedLength:
    frames: int
    seconds: float | None  # None when neither timestamps nor a frame rate tell
    fps: float | None


def decoded_length(container, stream) -> DecodedLength:
    """Decode every frame of ``stream``: how many there are and how long they last.

    The length runs from the earliest to the latest frame timestamp plus one frame period (the
    frame count over the rate when frames carry no timestamps). The one rule for the download's
    check of a new clip and for ``audit --deep``, so the two cannot disagree about a file.
    """
    frames, first, last = 0, None, None
    for frame in container.decode(stream):
        if frame.pts is not None:
            first = frame.pts if first is None else min(first, frame.pts)
            last = frame.pts if last is None else max(last, frame.pts)
        frames += 1
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    if frames and first is not None and stream.time_base:
        seconds = float((last - first) * stream.time_base) + (1.0 / fps if fps else 0.0)
    else:
        seconds = frames / fps if frames and fps else None
    return DecodedLength(frames, seconds, fps)


def _duration_problem(task: ClipCheckTask, decoded: float | None, declared: float | None) -> tuple[str | None, str | None]:
    """``decoded`` is the index's recorded duration when the file was only stat'ed."""
    tol = task.tolerance_seconds
    if decoded is None:
        return None, None
    if declared is not None and decoded < declared - tol:
        return "truncated", f"decodes {decoded:.2f} s of a file that declares {declared:.2f} s"
    if task.decode and task.recorded_seconds is not None and abs(decoded - task.recorded_seconds) > tol:
        return "wrong_duration", f"decodes {decoded:.2f} s; the index recorded {task.recorded_seconds:.2f} s"
    if task.window_seconds is not None and decoded > task.window_seconds + tol:
        return "wrong_duration", f"lasts {decoded:.2f} s, longer than its {task.window_seconds:g} s window"
    return None, None
