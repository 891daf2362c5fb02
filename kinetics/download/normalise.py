"""Trim a fetched section exactly and re-encode it to the corpus format; verify before publishing.

The corpus format is H.264 (yuv420p) in MP4 with ``+faststart`` (the index sits at the front, so a
loader reads a clip without seeking to its end), the short side scaled to ``short_side_pixels``
(0 keeps the original), an optional fixed frame rate, AAC audio unless dropped, and a keyframe
every ``keyframe_interval_seconds`` (0.5 s by default: a loader that seeks to a random 64-frame
window then decodes at most half a second it does not need, for about 10 % more bytes than a 1 s
GOP; measured in benchmarks/download_throughput.py). Keyframes are forced by time, not by frame
count, so the rule holds for variable frame rate sources.

The argument list is built with ffmpeg-python (``ffmpeg.compile``) and run by
``kinetics.ffmpeg.run_ffmpeg`` as a list: file names are absolute paths, never options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from kinetics.corpus.clipcheck import decoded_length
from kinetics.errors import CorruptClipError
from kinetics.ffmpeg import FFmpeg, run_ffmpeg

Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"]
PRESETS: tuple[str, ...] = Preset.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NormaliseOptions:
    """How every clip in the corpus is encoded."""

    short_side_pixels: int = 256
    fps: float | None = None
    audio: bool = True
    keyframe_interval_seconds: float = 0.5
    crf: int = 23
    preset: Preset = "veryfast"
    audio_bitrate_kbps: int = 128
    threads: int = 0  # 0: ffmpeg decides; the driver sets cores / jobs
    timeout_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.short_side_pixels < 0 or self.short_side_pixels % 2:
            raise ValueError(f"short_side_pixels must be 0 (keep) or a positive even number, got {self.short_side_pixels}")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if not self.keyframe_interval_seconds > 0:
            raise ValueError(f"keyframe_interval_seconds must be positive, got {self.keyframe_interval_seconds}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {self.crf}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {self.preset!r}")


@dataclass(frozen=True)
class ClipProbe:
    """What a video file holds, as read by PyAV."""

    duration_seconds: float
    fps: float | None
    width: int
    height: int
    frames: int | None  # counted by decoding; None when only the header was read
    codec: str
    has_audio: bool
    bytes: int
    sample_aspect_ratio: Fraction | None = None


def probe_header(path: str | os.PathLike) -> ClipProbe:
    """Read the container header only (fast): duration, size, codec, audio. Raises CorruptClipError."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CorruptClipError(path, "no video stream")
            stream = container.streams.video[0]
            duration = _stream_seconds(stream)
            if duration is None and container.duration is not None:
                duration = container.duration / 1_000_000
            ctx = stream.codec_context
            sar = ctx.sample_aspect_ratio
            return ClipProbe(
                duration_seconds=float(duration or 0.0),
                fps=float(stream.average_rate) if stream.average_rate else None,
                width=ctx.width,
                height=ctx.height,
                frames=None,
                codec=ctx.name,
                has_audio=bool(container.streams.audio),
                bytes=Path(path).stat().st_size,
                sample_aspect_ratio=Fraction(sar.numerator, sar.denominator) if sar else None,
            )
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"cannot read: {err}") from err


def verify_clip(path: str | os.PathLike, *, expected_seconds: float, tolerance_seconds: float) -> ClipProbe:
    """Decode every video frame; the clip must last ``expected_seconds`` within the tolerance.

    Raises CorruptClipError (naming the file) when it does not decode or has the wrong length.
    """
    import av

    header = probe_header(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            length = decoded_length(container, stream)
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"does not decode: {err}") from err
    if length.frames == 0:
        raise CorruptClipError(path, "no video frames")
    decoded = length.seconds or 0.0
    if abs(decoded - expected_seconds) > tolerance_seconds:
        raise CorruptClipError(path, f"lasts {decoded:.3f} s, expected {expected_seconds:.3f} s (tolerance {tolerance_seconds} s)")
    return ClipProbe(
        duration_seconds=round(decoded, 6),
        fps=header.fps,
        width=header.width,
        height=header.height,
        frames=length.frames,
        codec=header.codec,
        has_audio=header.has_audio,
        bytes=header.bytes,
        sample_aspect_ratio=header.sample_aspect_ratio,
    )


def normalise_args(source: Path, target: Path, *, duration_seconds: float, source_probe: ClipProbe, options: NormaliseOptions) -> list[str]:
    """The ffmpeg arguments (without the binary) that turn ``source`` into a corpus clip at ``target``."""
    import ffmpeg

    if not (source.is_absolute() and target.is_absolute()):
        raise ValueError("normalise_args takes absolute paths (a relative name could be read as an option)")
    stream = ffmpeg.input(str(source))
    video = stream.video
    sar = source_probe.sample_aspect_ratio
    if sar and sar != 1:  # square the pixels first, so "short side" means what a viewer sees
        video = video.filter("scale", "trunc(iw*sar/2)*2", "ih").filter("setsar", "1")
    side = options.short_side_pixels
    if side:
        video = video.filter("scale", f"if(lt(iw,ih),{side},-2)", f"if(lt(iw,ih),-2,{side})")
    else:
        video = video.filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
    if options.fps:
        video = video.filter("fps", fps=options.fps)
    streams = [video]
    encode: dict[str, object] = {
        "vcodec": "libx264",
        "pix_fmt": "yuv420p",
        "crf": options.crf,
        "preset": options.preset,
        "force_key_frames": f"expr:gte(t,n_forced*{options.keyframe_interval_seconds:g})",
        "movflags": "+faststart",
        "t": f"{duration_seconds:.6f}",
        "f": "mp4",
        "map_metadata": -1,
    }
    if options.audio and source_probe.has_audio:
        streams.append(stream.audio)
        encode.update({"acodec": "aac", "b:a": f"{options.audio_bitrate_kbps}k"})
    if options.threads:
        encode["threads"] = options.threads
    output = ffmpeg.output(*streams, str(target), **encode).overwrite_output()
    return ffmpeg.compile(output.global_args("-loglevel", "error", "-nostats"), cmd="ffmpeg")[1:]


def normalise(source: Path, target: Path, *, duration_seconds: float, source_probe: ClipProbe, options: NormaliseOptions, ffmpeg: FFmpeg | None = None) -> None:
    """Encode ``source`` to ``target`` (a temporary name; the caller verifies and publishes it)."""
    args = normalise_args(source, target, duration_seconds=duration_seconds, source_probe=source_probe, options=options)
    run_ffmpeg(args, ffmpeg=ffmpeg, timeout=options.timeout_seconds)


def _stream_seconds(stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None
