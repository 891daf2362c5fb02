"""Media whose pixels say which frame they are, and a corpus built from it like a download would.

Each frame shows its number in binary as 8 vertical bands (band ``b`` white when bit ``b`` is set),
so a decoded frame can be checked against the frame the timing rule says it should be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kinetics.corpus.index import ClipRecord, CorpusIndex, FlowRecord
from kinetics.corpus.layout import CorpusLayout
from kinetics.ffmpeg import run_ffmpeg

BANDS = 8


def make_numbered_clip(path: Path, *, fps: float, seconds: float, width: int = 128, height: int = 64, gop: int = 12) -> Path:
    """An H.264 MP4 (with B-frames, a keyframe every ``gop`` frames) showing each frame's number."""
    lum = f"if(mod(floor(N/pow(2\\,floor(X*{BANDS}/W)))\\,2)\\,235\\,16)"
    source = f"color=c=black:s={width}x{height}:r={fps}:d={seconds},format=yuv420p,geq=lum='{lum}':cb=128:cr=128"
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-y", "-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                "-g", str(gop), "-pix_fmt", "yuv420p", "-an", str(path)])
    return path


def frame_numbers(rgb: torch.Tensor) -> list[int]:
    """Read the numbers back from RGB ``[3, T, H, W]`` in [-1, 1] (full, unflipped frames)."""
    grey = rgb.mean(0)  # [T, H, W]
    width = grey.shape[-1]
    centres = [int((b + 0.5) * width / BANDS) for b in range(BANDS)]
    bits = grey[:, grey.shape[1] // 2, centres] > 0  # [T, BANDS]
    weights = torch.tensor([1 << b for b in range(BANDS)])
    return (bits.long() * weights).sum(1).tolist()


def expected_stored(target: np.ndarray, stored_fps: float, target_fps: float) -> list[int]:
    """The timing rule written out independently: the latest stored frame at or before k / target_fps."""
    return [int(np.floor(k * stored_fps / target_fps + 1e-6)) for k in target]


def add_clip(root: Path, source: Path, *, clip_id: str, split: str, label: str | None, label_index: int,
             fps: float, frames: int, width: int = 128, height: int = 64) -> ClipRecord:
    """Place ``source`` in the corpus layout and return its ok record (what a download records)."""
    layout = CorpusLayout(root)
    rel = layout.clip_relpath(split, label, clip_id)
    target = layout.resolve(rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    youtube_id, start, end = clip_id.rsplit("_", 2)
    return ClipRecord(clip_id=clip_id, youtube_id=youtube_id, time_start=float(start), time_end=float(end), split=split,
                      status="ok", label=label, label_index=label_index, path=rel, bytes=target.stat().st_size,
                      duration=frames / fps, fps=fps, width=width, height=height, frames=frames, codec="h264")


def failed_record(clip_id: str, split: str, status: str) -> ClipRecord:
    youtube_id, start, end = clip_id.rsplit("_", 2)
    return ClipRecord(clip_id=clip_id, youtube_id=youtube_id, time_start=float(start), time_end=float(end),
                      split=split, status=status, label="x", label_index=0, reason="unavailable", message="gone")


def add_flow(root: Path, record: ClipRecord, *, fields: int, x_value: int = 191, method: str = "tvl1") -> FlowRecord:
    """A flow file whose y channel repeats the RGB bands of frame k and whose x channel is constant."""
    from kinetics.corpus.flowfile import write_flow_file

    layout = CorpusLayout(root)
    rel = layout.flow_relpath(method, record.split, record.label, record.clip_id, ".kflow")
    data = []
    for k in range(fields):
        field = np.empty((record.height, record.width, 2), np.uint8)
        field[..., 0] = x_value
        band = np.arange(record.width) * BANDS // record.width
        field[..., 1] = np.where((k >> band) & 1, 255, 0)[None, :]
        data.append(field)
    write_flow_file(layout.resolve(rel), data, fps=25.0, bound=20.0, method=method, params={})
    return FlowRecord(clip_id=record.clip_id, split=record.split, method=method, status="ok", path=rel, frames=fields,
                      width=record.width, height=record.height, fps=25.0, bound=20.0)


def write_index(root: Path, clips: list[ClipRecord], flows: list[FlowRecord] = ()) -> CorpusIndex:
    index = CorpusIndex(root)
    index.record_clips(clips)
    if flows:
        index.record_flow(list(flows))
    return index
