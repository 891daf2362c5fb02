"""See a clip's stored flow: its RGB frames beside the same fields in the Middlebury colour coding.

``flow_preview(root, clip_id, out)`` writes a PNG (a strip of evenly spaced fields) or an MP4 (every
field, RGB left and flow right, at the flow's frame rate), so a user can check flow by eye. Field
``k`` is the motion from target frame ``k`` to ``k + 1``; the RGB frame beside it is target frame
``k``, picked by the loader's timing rule (``kinetics.data.timebase``), the frame the flow started
from. ``preview_frames`` returns the arrays (the HTML report draws its frame strips with it).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from kinetics.corpus.flowfile import FlowFile, dequantise
from kinetics.corpus.index import CorpusIndex
from kinetics.errors import CorpusError, KineticsError
from kinetics.files import atomic_output
from kinetics.data.timebase import target_frame_count
from kinetics.flow.colour_wheel import flow_scale, flow_to_colour, wheel_legend

PREVIEW_SUFFIXES = (".png", ".mp4")
DEFAULT_FIELDS = 8
FPS_WITHOUT_FLOW = 25.0  # the paper's rate, for strips of clips that have no flow yet


@dataclass(frozen=True)
class ClipFrames:
    """RGB frames of one clip and, where flow is stored, the same fields in colour."""

    clip_id: str
    label: str | None
    split: str
    fps: float  # the rate the frames are taken at (the flow's, else 25)
    indices: tuple[int, ...]  # target-frame (= flow field) numbers shown
    rgb: np.ndarray  # uint8 [N, H, W, 3]
    flow_colour: np.ndarray | None  # uint8 [N, h, w, 3]; None without flow
    method: str | None = None
    scale_pixels: float | None = None  # the speed drawn at full colour
    note: str | None = None  # why there is no flow, when there is none

    @property
    def title(self) -> str:
        label = f" ({self.label}, {self.split})" if self.label else f" ({self.split})"
        return self.clip_id + label


@dataclass(frozen=True)
class PreviewResult:
    out: Path
    clip_id: str
    method: str
    fields_shown: int
    scale_pixels: float


def clip_row(index: CorpusIndex, clip_id: str) -> dict:
    """The clip's current index row; CorpusError when it is unknown or not ok."""
    rows = _rows_of(index, clip_id)
    if not rows:
        raise CorpusError(f"clip {clip_id} is not in the index of {index.root}")
    row = rows[0]
    if row["status"] != "ok" or not row["path"]:
        raise CorpusError(f"clip {clip_id} is {row['status']} ({row['reason'] or 'no reason recorded'}), not ok: it has no file to show")
    return row


def _rows_of(index: CorpusIndex, clip_id: str) -> list[dict]:
    table = index.clips.read(["clip_id", "split", "label", "status", "reason", "path", "fps", "frames", "finished_at"],
                             pc.field("clip_id") == clip_id)
    return sorted(table.to_pylist(), key=lambda r: r["finished_at"], reverse=True)[:1]


def stored_flow(index: CorpusIndex, clip_id: str, method: str | None = None) -> dict | None:
    """The latest ok flow record of the clip for ``method``; without one, its latest TV-L1 flow, else any. None: no flow."""
    where = (pc.field("clip_id") == clip_id) & (pc.field("status") == "ok")
    if method:
        where = where & (pc.field("method") == method)
    rows = index.flow.read(["clip_id", "method", "path", "fps", "finished_at"], where).to_pylist()
    return max(rows, key=lambda r: (r["method"].startswith("tvl1"), r["finished_at"])) if rows else None


def preview_frames(root: str | os.PathLike, clip_id: str, *, method: str | None = None, count: int | None = DEFAULT_FIELDS,
                   require_flow: bool = True) -> ClipFrames:
    """``count`` evenly spaced fields of a clip (every field when None) as RGB and colour-coded flow.

    Without ok flow: CorpusError when ``require_flow``, else the RGB frames alone with a note.
    """
    index = CorpusIndex(root)
    row = clip_row(index, clip_id)
    flow_row = stored_flow(index, clip_id, method)
    video = index.layout.resolve(row["path"])
    if flow_row is None:
        note = _no_flow_note(index, clip_id, method, row["split"])
        if require_flow:
            raise CorpusError(note)
        fps = FPS_WITHOUT_FLOW
        timing = _stored_timing(video, row)
        shown = _spread(target_frame_count(timing[1], timing[0], fps), count)
        return ClipFrames(clip_id, row["label"], row["split"], fps, shown, _rgb(video, timing, shown, fps), None, note=note)
    with FlowFile.open(index.layout.resolve(flow_row["path"])) as flow:
        shown = _spread(flow.num_fields, count)
        pixels = dequantise(flow.read(list(shown))) * np.float32(flow.bound)
        fps, flow_method = flow.fps, flow.method
    scale = flow_scale(pixels)
    colour = flow_to_colour(pixels, max_flow=scale)
    return ClipFrames(clip_id, row["label"], row["split"], fps, shown, _rgb(video, _stored_timing(video, row), shown, fps), colour,
                      method=flow_method, scale_pixels=scale)


def flow_preview(root: str | os.PathLike, clip_id: str, out: str | os.PathLike, *, method: str | None = None,
                 count: int = DEFAULT_FIELDS) -> PreviewResult:
    """Write ``out`` (.png: a strip of ``count`` fields; .mp4: every field) for a clip's stored flow."""
    out = Path(out)
    if out.suffix.lower() not in PREVIEW_SUFFIXES:
        raise KineticsError(f"--out must end in .png or .mp4, got {out}")
    movie = out.suffix.lower() == ".mp4"
    frames = preview_frames(root, clip_id, method=method, count=None if movie else count)
    if movie:
        _write_mp4(frames, out)
    else:
        figure = preview_figure(frames)
        with atomic_output(out) as temp:
            figure.savefig(temp, format="png", dpi=100)
    return PreviewResult(out, clip_id, frames.method or "", len(frames.indices), frames.scale_pixels or 0.0)


def preview_figure(frames: ClipFrames, *, width_inches: float = 1.9):
    """A matplotlib Figure (no pyplot, no global backend): RGB above, flow below, the colour key at the end."""
    from matplotlib.figure import Figure

    columns = len(frames.indices)
    rows = 1 if frames.flow_colour is None else 2
    height, width = frames.rgb.shape[1:3]
    cell = width_inches * height / max(width, 1)
    figure = Figure(figsize=(width_inches * (columns + (rows - 1) * 0.6), rows * cell + 0.55), layout="constrained")
    extra = 1 if rows == 2 else 0
    grid = figure.add_gridspec(rows, columns + extra, width_ratios=[1] * columns + [0.6] * extra)
    for column, number in enumerate(frames.indices):
        axes = figure.add_subplot(grid[0, column])
        axes.imshow(frames.rgb[column], interpolation="nearest")
        axes.set_title(f"frame {number}", fontsize=7)
        axes.set_axis_off()
        if rows == 2:
            axes = figure.add_subplot(grid[1, column])
            axes.imshow(frames.flow_colour[column], interpolation="nearest")
            axes.set_title(f"flow {number}\u2192{number + 1}", fontsize=7)
            axes.set_axis_off()
    if rows == 2:
        key = figure.add_subplot(grid[1, columns])
        key.imshow(wheel_legend(64), interpolation="bilinear")
        key.set_title(f"key: {frames.scale_pixels:.1f} px", fontsize=7)
        key.set_axis_off()
    method = f", {frames.method} flow at {frames.fps:g} fps" if frames.method else f", frames at {frames.fps:g} fps (no flow)"
    figure.suptitle(frames.title + method, fontsize=8)
    return figure


# -- frames --------------------------------------------------------------------------------------------
def _spread(available: int, count: int | None) -> tuple[int, ...]:
    if available < 1:
        return ()
    if count is None or count >= available:
        return tuple(range(available))
    return tuple(int(i) for i in np.unique(np.linspace(0, available - 1, max(count, 1)).round().astype(int)))


def _stored_timing(video: Path, row: dict) -> tuple[float, int]:
    """(fps, frames) of the stored clip: from its index row, probing the file only when the row lacks them."""
    stored_fps, stored_frames = row["fps"], row["frames"]
    if not stored_fps or not stored_frames:
        from kinetics.data.decoding import probe_video

        info = probe_video(video)
        stored_fps, stored_frames = stored_fps or info.fps, stored_frames or info.frames
    return stored_fps, stored_frames


def _rgb(video: Path, timing: tuple[float, int], targets: tuple[int, ...], fps: float) -> np.ndarray:
    """uint8 [N, H, W, 3] of target frames ``targets`` at ``fps``, by the loader's rule and decoder."""
    from kinetics.data.decoding import read_rgb
    from kinetics.data.timebase import stored_indices

    if not targets:
        raise CorpusError(f"{video}: the clip has no frames to show")
    stored_fps, stored_frames = timing
    wanted = stored_indices(np.asarray(targets), stored_fps, fps, stored_frames)
    rgb = read_rgb(video, wanted)  # float [3, T, H, W] in [-1, 1]
    return ((rgb.permute(1, 2, 3, 0).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)


def _no_flow_note(index: CorpusIndex, clip_id: str, method: str | None, split: str) -> str:
    others = sorted({r["method"] for r in index.flow.read(["method"], (pc.field("clip_id") == clip_id) & (pc.field("status") == "ok")).to_pylist()})
    wanted = f"{method} " if method else ""
    hint = f"; stored methods: {', '.join(others)} (pick one with --method)" if others else \
        f"; compute it with: kinetics flow --root {index.root} --split {split}"
    return f"clip {clip_id} has no ok {wanted}flow{hint}"


# -- movie ---------------------------------------------------------------------------------------------
def _write_mp4(frames: ClipFrames, out: Path) -> None:
    """H.264 of [RGB | flow] per field at the flow's rate, through a raw file (no shell, no pipe)."""
    import cv2

    from kinetics.ffmpeg import run_ffmpeg

    rgb, colour = frames.rgb, frames.flow_colour
    height, width = rgb.shape[1:3]
    if colour.shape[1:3] != (height, width):
        colour = np.stack([cv2.resize(c, (width, height), interpolation=cv2.INTER_NEAREST) for c in colour])
    side = np.concatenate([rgb, colour], axis=2)
    even_h, even_w = side.shape[1] + side.shape[1] % 2, side.shape[2] + side.shape[2] % 2  # yuv420p needs even sizes
    padded = np.zeros((len(side), even_h, even_w, 3), np.uint8)
    padded[:, : side.shape[1], : side.shape[2]] = side
    with tempfile.TemporaryDirectory(prefix="kinetics-preview-") as scratch:
        raw = Path(scratch) / "frames.rgb"
        raw.write_bytes(padded.tobytes())
        with atomic_output(out) as temp:
            run_ffmpeg(["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{even_w}x{even_h}", "-r", f"{frames.fps:g}",
                        "-i", str(raw), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                        "-an", "-f", "mp4", str(temp)])
