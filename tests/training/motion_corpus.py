"""A synthetic Kinetics-layout corpus where only motion tells the classes apart.

Every clip is a smooth random texture (a new one per clip) sliding left, right, up, down, or
standing still, encoded to H.264 by ffmpeg and recorded in the index as a download would be. A
single frame carries no class information, so a model must use time (RGB over several frames) or
optical flow. Used by the training tests and benchmarks/train_convergence.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "flow"))  # moving_media: texture frames and grey encoding
sys.path.insert(0, str(HERE.parent / "data"))  # numbered_media: place a clip as a download would

from moving_media import encode_grey, texture_frames  # noqa: E402
from numbered_media import add_clip, write_index  # noqa: E402

#: class name -> (dx, dy) pixels per frame, in label_index order
MOTIONS: dict[str, tuple[int, int]] = {
    "moving_left": (-2, 0), "moving_right": (2, 0), "moving_up": (0, -2), "moving_down": (0, 2), "static": (0, 0),
}


@dataclass(frozen=True)
class MotionCorpus:
    root: Path
    classes: tuple[str, ...]
    clips: dict[str, int]  # split -> clips


def build_motion_corpus(
    root: Path,
    *,
    clips_per_class: dict[str, int],
    classes: tuple[str, ...] = tuple(MOTIONS),
    frames: int = 32,
    width: int = 32,
    height: int = 32,
    fps: float = 25.0,
    seed: int = 0,
) -> MotionCorpus:
    """Encode ``clips_per_class[split]`` clips of each class per split under ``root`` and index them."""
    records = []
    serial = seed * 100_000
    for split, count in clips_per_class.items():
        for label_index, label in enumerate(classes):
            dx, dy = MOTIONS[label]
            for n in range(count):
                serial += 1
                clip_id = f"{_youtube_id(serial)}_{n:06d}_{n + 10:06d}"
                grey = texture_frames(dx=dx, dy=dy, frames=frames, width=width, height=height, seed=serial)
                source = encode_grey(grey, root / ".sources" / f"{clip_id}.mp4", fps=fps)
                records.append(add_clip(root, source, clip_id=clip_id, split=split, label=label,
                                        label_index=label_index, fps=fps, frames=frames, width=width, height=height))
                source.unlink()
    write_index(root, records)
    return MotionCorpus(root, classes, dict(clips_per_class))


def _youtube_id(serial: int) -> str:
    """An 11-character id of YouTube's alphabet, unique per serial."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    digits = []
    for _ in range(11):
        serial, r = divmod(serial, 64)
        digits.append(alphabet[r])
    return "m" + "".join(digits[:10])


def grey_clip(label: str, *, frames: int, size: int, seed: int) -> np.ndarray:
    """The frames of one clip of ``label`` (for tests that need the pixels rather than a file)."""
    dx, dy = MOTIONS[label]
    return texture_frames(dx=dx, dy=dy, frames=frames, width=size, height=size, seed=seed)
