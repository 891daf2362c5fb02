"""Read chosen frames of a video file as an I3D-ready RGB tensor, decoding as little as possible.

``read_rgb(path, stored_indices, box=..., hflip=...)`` returns float ``[3, T, h, w]`` in [-1, 1]
for the stored frames asked for, cropped (and mirrored). The PyAV backend seeks to the keyframe
before the first frame and decodes forward only as far as the last one. It never asks swscale for
RGB: each wanted frame's Y, U and V planes are read in place and ``kinetics.data.colour`` writes
the cropped, mirrored, [-1, 1] RGB of that frame straight into the output (one compiled pass),
while the frame is still in cache. The output's memory comes from ``kinetics.data.buffers``, so
it is already mapped. ``decoder="torchcodec"`` uses torchcodec where it loads.

Frame ``i`` is the frame shown at ``i / fps`` seconds after the stream starts: each decoded frame's
index comes from its timestamp, and a wanted index gets the latest frame at or before it, so
variable-rate files, duplicates and indices past the end (the last frame) all behave.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Sequence, get_args

import numpy as np
import torch

from kinetics.data.buffers import OUTPUT_BUFFERS
from kinetics.data.colour import Coefficients, convert_frame
from kinetics.data.transforms import CropBox, crop, mirror_box, to_unit_range
from kinetics.errors import CorruptClipError, MissingDependencyError

DecoderName = Literal["pyav", "torchcodec"]
DECODERS: tuple[str, ...] = get_args(DecoderName)

_YUV420 = ("yuv420p", "yuvj420p")


@dataclass(frozen=True)
class VideoInfo:
    """What a container header says about its first video stream (no decoding)."""

    fps: float
    frames: int
    width: int
    height: int
    duration_seconds: float


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, frame count and size from PyAV's stream metadata (cheap: reads the header only)."""
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CorruptClipError(path, "no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate:
                raise CorruptClipError(path, "the video stream has no frame rate")
            fps = float(rate)
            if stream.duration is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            frames = stream.frames or int(round(duration * fps))
            if frames < 1:
                raise CorruptClipError(path, "the video stream reports no frames")
            ctx = stream.codec_context
            return VideoInfo(fps, frames, ctx.width, ctx.height, duration or frames / fps)
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"cannot open: {err}") from err


def read_rgb(
    path: str | os.PathLike,
    stored_indices: Sequence[int] | np.ndarray,
    *,
    box: CropBox | None = None,
    hflip: bool = False,
    decoder: DecoderName = "pyav",
    threads: int = 1,
) -> torch.Tensor:
    """Stored frames ``stored_indices`` (any order, repeats allowed) as float ``[3, T, h, w]`` in [-1, 1].

    ``box`` crops and ``hflip`` then mirrors each frame, both while copying the decoded planes
    (cheaper than on the float result). ``threads``: decoder threads (0 lets FFmpeg choose).
    Raises CorruptClipError naming the file.
    """
    indices = np.asarray(stored_indices, dtype=np.int64)
    if indices.ndim != 1 or len(indices) == 0 or indices.min() < 0:
        raise ValueError(f"{path}: stored_indices must be a non-empty list of frame numbers >= 0")
    if decoder == "torchcodec":
        rgb = _read_torchcodec(path, indices, box, threads)
        return rgb.flip(-1) if hflip else rgb
    if decoder != "pyav":
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
    return _read_pyav(path, indices, box, hflip, threads)


# -- PyAV -----------------------------------------------------------------------------------------
def _import_av():
    try:
        import av
    except ImportError as err:  # a dependency of the package, so only a broken install gets here
        raise MissingDependencyError(f"PyAV is needed to decode video: pip install av ({err})") from err
    return av


class _Window:
    """The output of one read, filled frame by frame as the decoder produces them.

    4:2:0 frames are converted straight from the decoder's planes (no intermediate copy, while
    they are still in cache); ``box`` must then have even offsets and sizes. Anything else, or a
    frame of odd size, goes through swscale to RGB. A frame whose size or format differs from the
    stream's (``frame_size``) is rescaled first. ``positions[k]`` lists the output frames that
    show the k-th wanted (sorted, unique) frame.
    """

    def __init__(self, positions: list[list[int]], count: int, box: CropBox, frame_size: tuple[int, int], *, planar: bool, hflip: bool):
        self.positions = positions
        self.box = box
        self.frame_size = frame_size
        self.planar = planar
        self.hflip = hflip
        self.out = OUTPUT_BUFFERS.empty((3, count, box.height, box.width))
        self._planes = self.out.numpy()
        self.coefficients: Coefficients | None = None

    def take(self, slot: int, frame) -> None:
        b = self.box
        first, *others = self.positions[slot]
        target = self._planes[:, first]
        (height, width), planar = self.frame_size, self.planar
        if (frame.height, frame.width) != self.frame_size or (planar and frame.format.name not in _YUV420):  # changed mid-stream
            frame = frame.reformat(width=width, height=height, format="yuv420p" if planar else frame.format.name)
        if planar:
            if self.coefficients is None:
                self.coefficients = Coefficients.for_frame(frame)
            convert_frame(*(_plane(p) for p in frame.planes), b, target, self.coefficients, hflip=self.hflip)
        else:
            rgb = frame.to_ndarray(format="rgb24")[b.top : b.top + b.height, b.left : b.left + b.width]
            np.multiply(rgb[:, :: -1 if self.hflip else 1].transpose(2, 0, 1), np.float32(1 / 127.5), out=target)
            target -= 1
        for position in others:  # a looped or repeated frame: copy, do not convert again
            self._planes[:, position] = target


def _plane(plane) -> np.ndarray:
    """A zero-copy (rows, line size) view of one plane of an AVFrame, padding columns included."""
    rows = plane.buffer_size // plane.line_size
    return np.frombuffer(plane, np.uint8, count=rows * plane.line_size).reshape(rows, plane.line_size)


def _read_pyav(path, indices: np.ndarray, box: CropBox | None, hflip: bool, threads: int) -> torch.Tensor:
    av = _import_av()
    wanted, order = np.unique(indices, return_inverse=True)
    positions: list[list[int]] = [[] for _ in wanted]
    for position, slot in enumerate(order.tolist()):
        positions[slot].append(position)
    inner = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CorruptClipError(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO" if threads != 1 else "SLICE"
            stream.codec_context.thread_count = threads
            ctx = stream.codec_context
            box = box or CropBox(0, 0, ctx.height, ctx.width)
            if not box.fits(ctx.height, ctx.width):  # the caller expected another size: the index may be wrong
                raise CorruptClipError(path, f"crop {box} does not fit its {ctx.height}x{ctx.width} frames")
            outer, inner = _even_superset(box)
            planar = ctx.pix_fmt in _YUV420 and outer.fits(ctx.height, ctx.width)
            if not planar:
                outer, inner = box, None
            if hflip and inner is not None:
                inner = mirror_box(inner, outer.width)
            window = _decode(container, stream, wanted, lambda: _Window(positions, len(indices), outer, (ctx.height, ctx.width), planar=planar, hflip=hflip), path)
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"cannot decode: {err}") from err
    return window.out if inner is None else crop(window.out, inner).contiguous()


def _decode(container, stream, wanted: np.ndarray, new_window, path) -> _Window:
    """Seek to the keyframe before the first wanted frame and decode up to the last one."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise CorruptClipError(path, "the video stream has no frame rate")
    frames_per_tick = float(rate * (stream.time_base or Fraction(1, 1)))
    start_pts = stream.start_time or 0
    if wanted[0] > 0:
        container.seek(start_pts + int(wanted[0] / frames_per_tick), stream=stream, backward=True)
        window = new_window()
        if _fill(window, container.decode(stream), wanted, frames_per_tick, start_pts, path, from_start=False):
            return window
        container.seek(start_pts, stream=stream, backward=True)  # the seek overshot: decode from the start
    window = new_window()
    if _fill(window, container.decode(stream), wanted, frames_per_tick, start_pts, path, from_start=True):
        return window
    raise CorruptClipError(path, f"cannot reach frame {int(wanted[0])}: decoding starts after it")


def _fill(window: _Window, frames, wanted: np.ndarray, frames_per_tick: float, start_pts: int, path, *, from_start: bool) -> bool:
    """Put the frame for each wanted index into ``window``; False if the seek overshot."""
    try:
        for slot, frame in match_frames(frames, wanted, frames_per_tick=frames_per_tick, start_pts=start_pts, from_start=from_start):
            window.take(slot, frame)
    except SeekOvershot:
        return False
    except LookupError:
        raise CorruptClipError(path, f"no frame decodes at or after frame {int(wanted[0])}") from None
    return True


class SeekOvershot(Exception):
    """The first frame decoded after a seek is already past the first wanted one."""


def match_frames(frames, wanted, *, frames_per_tick: float | None, start_pts: int, from_start: bool):
    """Yield ``(slot, frame)`` for each wanted stored index (sorted; repeats allowed): the latest
    decoded frame shown at or before it, and the last frame for indices past the end.

    A frame's index comes from its timestamp (``(pts - start_pts) * frames_per_tick``; its
    position in the stream when either is unknown). Decoding ``from_start``, the stream's first
    frame stands in for any index before its own timestamp (AVI and some MP4 muxers show the first
    frame a tick or two after 0); otherwise a first frame past the first wanted index raises
    SeekOvershot. Raises LookupError when no frame decodes. Shared by RGB loading and flow
    extraction, so both pick the same frames.
    """
    slot, count, previous = 0, len(wanted), None
    for number, frame in enumerate(frames):
        if frame.pts is not None and frames_per_tick:
            index = round((frame.pts - start_pts) * frames_per_tick)
        else:
            index = number
        if previous is None and from_start:
            previous = frame
        while slot < count and wanted[slot] < index:
            if previous is None:
                raise SeekOvershot
            yield slot, previous
            slot += 1
        while slot < count and wanted[slot] == index:
            yield slot, frame
            slot += 1
        if slot == count:
            return
        previous = frame
    if previous is None:
        raise LookupError("no frame decodes")
    while slot < count:  # past the end of the stream: the last frame stands in
        yield slot, previous
        slot += 1


def _even_superset(box: CropBox) -> tuple[CropBox, CropBox | None]:
    """The smallest box with even offsets and sizes around ``box``, and ``box`` within it (None if equal)."""
    top, left = box.top - box.top % 2, box.left - box.left % 2
    bottom, right = box.top + box.height, box.left + box.width
    outer = CropBox(top, left, bottom + bottom % 2 - top, right + right % 2 - left)
    if outer == box:
        return outer, None
    return outer, CropBox(box.top - top, box.left - left, box.height, box.width)


# -- torchcodec -----------------------------------------------------------------------------------
def _read_torchcodec(path, indices: np.ndarray, box: CropBox | None, threads: int) -> torch.Tensor:
    decoder_class = torchcodec_decoder()
    try:
        decoder = decoder_class(str(path), dimension_order="NCHW", seek_mode="approximate", num_ffmpeg_threads=threads)
        last = decoder.metadata.num_frames
        if last:
            indices = np.minimum(indices, last - 1)
        batch = decoder.get_frames_at(indices=indices.tolist()).data  # uint8 [T, 3, H, W]
    except (RuntimeError, ValueError, IndexError) as err:
        raise CorruptClipError(path, f"torchcodec cannot decode: {err}") from err
    rgb = batch.permute(1, 0, 2, 3)
    if box is not None:
        rgb = crop(rgb, box)
    return to_unit_range(rgb)


def torchcodec_decoder():
    """torchcodec's VideoDecoder class, or MissingDependencyError saying why it is unusable."""
    try:
        from torchcodec.decoders import VideoDecoder
    except (ImportError, OSError, RuntimeError) as err:
        raise MissingDependencyError(
            "decoder='torchcodec' needs torchcodec and FFmpeg's shared libraries (libavcodec etc.) "
            f"from the system: pip install torchcodec, and install FFmpeg 4-7 libraries ({type(err).__name__}: {err})"
        ) from err
    return VideoDecoder
