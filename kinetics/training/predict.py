"""``predict_videos``: what a pretrained I3D says about video files, top-k classes with probabilities.

The paper's test protocol (section 2.3) by default: frames sampled at 25 fps (``kinetics.data.timebase``),
the short side resized to 256, one centre 224x224 crop, the whole video through the network (it is
convolutional in time) and the logits averaged over time. A video longer than ``chunk_frames``
(250: the paper's 10 s test input) goes through in consecutive pieces, their per-time logits
averaged together, so memory stays bounded and progress can be shown.

A flow checkpoint, or the flow half of a two-stream pair, needs optical flow: it is computed from
the resized frames with ``kinetics.flow.methods.compute_flow`` (the paper's TV-L1 by default),
clipped to the checkpoint's bound (20 pixels) and scaled to [-1, 1], then cropped like the RGB.
Two streams are fused by adding their logits (DeepMind's evaluation; ``metrics.fuse_logits``).

Several files make one result each: a file that cannot be read gives a result with ``error`` set
(naming the file) and the others go on.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from kinetics.corpus.flowfile import DEFAULT_BOUND
from kinetics.data.decoding import VideoInfo, probe_video, read_rgb
from kinetics.data.timebase import stored_indices, target_frame_count
from kinetics.data.transforms import SpatialOptions, SpatialPlan, apply_plan, crop
from kinetics.errors import CorruptClipError, KineticsError
from kinetics.models.i3d import I3D
from kinetics.models.registry import checkpoint_names, get_checkpoint
from kinetics.progress import Progress
from kinetics.training.distributed import resolve_device
from kinetics.training.initialise import load_streams
from kinetics.training.metrics import fuse_logits
from kinetics.training.predict_options import CHUNK_FRAMES, PredictOptions

#: frames decoded and resized at a time (bounds the memory of full-size frames before the resize)
READ_FRAMES = 32
#: a last piece shorter than this joins the one before it (I3D sees little of a few frames)
MIN_PIECE_FRAMES = 16


@dataclass(frozen=True)
class Label:
    rank: int
    index: int
    name: str
    probability: float
    logit: float

    def as_dict(self) -> dict:
        return {"rank": self.rank, "label": self.name, "index": self.index,
                "probability": self.probability, "logit": self.logit}


@dataclass(frozen=True)
class VideoPrediction:
    """One video's result: the top classes, or ``error`` (the message names the file)."""

    video: str
    top: tuple[Label, ...] = ()
    frames: int = 0  # frames at the sampling rate that went through the network
    start_seconds: float = 0.0
    end_seconds: float = 0.0
    streams: tuple[str, ...] = ()
    error: str | None = None
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {"video": self.video, "ok": self.ok, "error": self.error, "frames": self.frames,
                "window_seconds": [round(self.start_seconds, 3), round(self.end_seconds, 3)],
                "streams": list(self.streams), "top": [label.as_dict() for label in self.top],
                "elapsed_seconds": round(self.elapsed_seconds, 3)}

    def format(self) -> str:
        if not self.ok:
            return f"error: {self.error}"
        head = (f"{self.video}: {self.frames} frames, {self.start_seconds:.2f}-{self.end_seconds:.2f} s, "
                f"{' + '.join(self.streams)}")
        width = max((len(label.name) for label in self.top), default=0)
        rows = [f"  {label.rank}. {label.name:<{width}}  {100 * label.probability:6.2f}%  (logit {label.logit:.3f})"
                for label in self.top]
        return "\n".join([head, *rows])


def predict_videos(
    videos: Sequence[str | os.PathLike] | str | os.PathLike,
    checkpoint: str | os.PathLike,
    *,
    flow_checkpoint: str | os.PathLike | None = None,
    top: int = 5,
    window: tuple[float, float] | None = None,
    fps: float = 25.0,
    short_side_pixels: int | None = 256,
    crop_pixels: int | None = 224,
    chunk_frames: int = CHUNK_FRAMES,
    flow_method: str = "tvl1",
    device: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
    progress: bool | None = None,
) -> list[VideoPrediction]:
    """Top-``top`` classes of each video (see the module docstring); one result per video, in order.

    Example::

        for result in kinetics.predict("cricket.mp4", "i3d_inception.deepmind_rgb_scratch"):
            print(result.format())
    """
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    options = PredictOptions(
        videos=tuple(Path(v) for v in videos), checkpoint=str(checkpoint),
        flow_checkpoint=None if flow_checkpoint is None else str(flow_checkpoint), top=top, window=window, fps=fps,
        short_side_pixels=short_side_pixels, crop_pixels=crop_pixels, chunk_frames=chunk_frames,
        flow_method=flow_method, device=device, cache_dir=None if cache_dir is None else str(cache_dir),
        base_url=base_url, progress=progress,
    )
    return predict(options)


def predict(options: PredictOptions) -> list[VideoPrediction]:
    """:func:`predict_videos` with its arguments as a :class:`PredictOptions` (what the CLI builds)."""
    from kinetics.flow.methods import check_method

    check_method(options.flow_method)
    device = resolve_device(options.device)
    models = load_streams(options.checkpoint, options.flow_checkpoint, cache_dir=options.cache_dir,
                          base_url=options.base_url)
    for model in models.values():
        model.to(device).eval()
    bound = _flow_bound(options.flow_checkpoint or options.checkpoint) if "flow" in models else DEFAULT_BOUND
    spatial = SpatialOptions.test(short_side_pixels=options.short_side_pixels, crop_pixels=options.crop_pixels)
    planned: list[tuple[Path, _Plan | VideoPrediction]] = []
    for video in options.videos:
        try:
            planned.append((video, _plan(video, options, spatial)))
        except (KineticsError, ValueError) as err:
            planned.append((video, VideoPrediction(str(video), error=_message(err, video))))
    total = sum(p.stop - p.first for _, p in planned if isinstance(p, _Plan))
    results: list[VideoPrediction] = []
    with Progress(total, description="predict", unit="frame", show=options.progress) as bar:
        for video, plan in planned:
            if isinstance(plan, VideoPrediction):
                results.append(plan)
                continue
            started = time.perf_counter()
            done = [0]

            def advance(frames: int, done: list[int] = done) -> None:
                done[0] += frames
                bar.update("ok", frames)

            try:
                logits = _video_logits(plan, models, options, device=device, bound=bound, on_frames=advance)
            except (KineticsError, ValueError) as err:
                bar.update("failed", plan.stop - plan.first - done[0])
                results.append(VideoPrediction(str(video), error=_message(err, video)))
                continue
            results.append(VideoPrediction(
                str(video), _top(logits, next(iter(models.values())).classes, options.top),
                frames=plan.stop - plan.first, start_seconds=plan.first / options.fps,
                end_seconds=plan.stop / options.fps, streams=tuple(models),
                elapsed_seconds=time.perf_counter() - started,
            ))
    return results


# -- one video --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    path: Path
    info: VideoInfo
    clip_frames: int  # frames at the sampling rate in the whole video
    first: int  # sampled frames [first, stop) go through the network
    stop: int
    spatial: SpatialPlan


def _plan(path: Path, options: PredictOptions, spatial: SpatialOptions) -> _Plan:
    if not path.exists():
        raise CorruptClipError(path, "no such file")
    if not path.is_file():
        raise CorruptClipError(path, "not a file")
    info = probe_video(path)
    clip_frames = target_frame_count(info.frames, info.fps, options.fps)
    first, stop = 0, clip_frames
    if options.window is not None:
        start, end = options.window
        first = math.ceil(start * options.fps - 1e-6)
        stop = min(clip_frames, math.ceil(end * options.fps - 1e-6))
        if first >= clip_frames:
            raise CorruptClipError(path, f"--window {start:g} {end:g} starts after the video ends "
                                         f"({clip_frames / options.fps:.2f} s)")
    try:
        plan = spatial.plan(info.height, info.width)
    except ValueError as err:
        raise CorruptClipError(path, f"{info.width}x{info.height} frames: {err}") from None
    return _Plan(path, info, clip_frames, first, max(stop, first + 1), plan)


def _pieces(first: int, stop: int, chunk_frames: int) -> list[tuple[int, int]]:
    """[first, stop) cut into consecutive pieces of ``chunk_frames`` (0: one piece); a short tail joins the last piece."""
    if chunk_frames <= 0 or stop - first <= chunk_frames:
        return [(first, stop)]
    pieces = [(a, min(a + chunk_frames, stop)) for a in range(first, stop, chunk_frames)]
    if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < MIN_PIECE_FRAMES:
        (a, _), (_, b) = pieces[-2], pieces.pop()
        pieces[-1] = (a, b)
    return pieces


def _video_logits(plan: _Plan, models: dict[str, I3D], options: PredictOptions, *, device: torch.device,
                  bound: float, on_frames) -> torch.Tensor:
    """Per-time logits of every piece, concatenated and averaged: [classes] (streams' logits added)."""
    per_time: dict[str, list[torch.Tensor]] = {stream: [] for stream in models}
    with torch.inference_mode():
        for a, b in _pieces(plan.first, plan.stop, options.chunk_frames):
            inputs = _inputs(plan, a, b, options, streams=tuple(models), bound=bound)
            for stream, model in models.items():
                per_time[stream].append(model.per_time_logits(inputs[stream][None].to(device)).float().cpu()[0])
            on_frames(b - a)
    averaged = [torch.cat(chunks, dim=1).mean(dim=1, keepdim=True).T for chunks in per_time.values()]  # [1, K] each
    return fuse_logits(*averaged)[0]


def _inputs(plan: _Plan, a: int, b: int, options: PredictOptions, *, streams: tuple[str, ...], bound: float) -> dict:
    """The network inputs of sampled frames [a, b): ``rgb`` [3, T, h, w] and/or ``flow`` [2, T, h, w], in [-1, 1]."""
    box = plan.spatial.box
    if "flow" not in streams:
        return {"rgb": _frames(plan, np.arange(a, b), options.fps, box=box)}
    # flow field k runs from frame k to k + 1: read one frame past the piece when the video has it
    stop = min(b + 1, plan.clip_frames)
    frames = _frames(plan, np.arange(a, stop), options.fps, box=None)
    if frames.shape[1] < 2:
        raise CorruptClipError(plan.path, f"{frames.shape[1]} frame at {options.fps:g} fps: optical flow needs 2")
    out = {"flow": _flow(frames, count=b - a, bound=bound, method=options.flow_method, box=box)}
    if "rgb" in streams:
        rgb = frames[:, : b - a]
        out["rgb"] = (crop(rgb, box) if box is not None else rgb).contiguous()
    return out


def _frames(plan: _Plan, targets: np.ndarray, fps: float, *, box) -> torch.Tensor:
    """Sampled frames ``targets`` as float [3, T, h, w] in [-1, 1], resized as planned and cut to ``box``."""
    info = plan.info
    stored = stored_indices(targets, info.fps, fps, info.frames)
    if (plan.spatial.height, plan.spatial.width) == (info.height, info.width):  # no resize: crop while decoding
        return read_rgb(plan.path, stored, box=box)
    resize_then_cut = replace(plan.spatial, box=box, flip=False)
    parts = [apply_plan(read_rgb(plan.path, stored[i : i + READ_FRAMES]), resize_then_cut)
             for i in range(0, len(stored), READ_FRAMES)]
    return torch.cat(parts, dim=1).contiguous()


def _flow(frames: torch.Tensor, *, count: int, bound: float, method: str, box) -> torch.Tensor:
    """Flow of ``count`` frames from RGB ``frames`` [3, >=2, H, W] in [-1, 1]: [2, count, h, w] in [-1, 1].

    Field k is the motion from frame k to k + 1; where the video ends, the last field repeats
    (as the corpus loader does).
    """
    from kinetics.flow.methods import compute_flow

    pixels = frames.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 3, 0).numpy()
    fields = compute_flow(pixels, method=method)  # [T - 1, H, W, 2] pixels
    flow = torch.from_numpy(np.ascontiguousarray(fields)).permute(3, 0, 1, 2)  # [2, T - 1, H, W]
    if flow.shape[1] < count:
        flow = torch.cat([flow, flow[:, -1:].expand(-1, count - flow.shape[1], -1, -1)], dim=1)
    flow = flow[:, :count].clamp(-bound, bound).div_(bound)
    return (crop(flow, box) if box is not None else flow).contiguous()


def _flow_bound(checkpoint: str | os.PathLike) -> float:
    """The clipping bound a registered flow checkpoint was trained with (20 pixels, the paper's, otherwise)."""
    if isinstance(checkpoint, str) and checkpoint in checkpoint_names():
        bound = get_checkpoint(checkpoint).preprocessing.flow_bound_pixels
        if bound:
            return float(bound)
    return DEFAULT_BOUND


def _top(logits: torch.Tensor, classes: Sequence[str] | None, k: int) -> tuple[Label, ...]:
    probabilities = logits.double().softmax(dim=0)
    values, indices = logits.topk(min(k, logits.numel()))
    return tuple(
        Label(rank, int(i), classes[int(i)] if classes else f"class {int(i)}", float(probabilities[i]), float(v))
        for rank, (v, i) in enumerate(zip(values.tolist(), indices.tolist()), start=1)
    )


def _message(err: Exception, video: Path) -> str:
    text = str(err)
    return text if str(video) in text else f"{video}: {text}"
