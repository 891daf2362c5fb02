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


def encode_avi(frames: np.ndarray, path: Path, *, fps: float) -> Path:
    """MPEG-4 part 2 in AVI, as UCF-101 and HMDB-51 ship, from grey frames (through a raw file: no shell)."""
    from kinetics.ffmpeg import run_ffmpeg

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".gray")
    raw.write_bytes(np.ascontiguousarray(frames).tobytes())
    height, width = frames.shape[1:]
    run_ffmpeg(["-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", f"{fps}", "-i", str(raw),
                "-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p", "-an", str(path)])
    raw.unlink()
    return path


def build_motion_ucf101(root: Path, *, classes: tuple[str, ...], groups: int = 3, frames: int = 16, size: int = 32) -> Path:
    """A miniature prepared UCF-101 root of motion clips: ``groups`` videos per class; split N tests group N.

    Official layout and formats: ``UCF101/<Class>/v_<Class>_gNN_c01.avi``, ``ucfTrainTestlist/classInd.txt``
    (1-based), ``trainlist0N.txt`` (with the index), ``testlist0N.txt`` (without), CRLF endings.
    """
    names = {label: "".join(part.capitalize() for part in label.split("_")) for label in classes}
    serial = 0
    for label in classes:
        for group in range(1, groups + 1):
            serial += 1
            grey = grey_clip(label, frames=frames, size=size, seed=1000 + serial)
            encode_avi(grey, root / "UCF101" / names[label] / f"v_{names[label]}_g{group:02d}_c01.avi", fps=25.0)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_bytes("".join(f"{i} {names[c]}\r\n" for i, c in enumerate(classes, 1)).encode())
    for split in (1, 2, 3):
        train, test = [], []
        for index, label in enumerate(classes, 1):
            for group in range(1, groups + 1):
                video = f"{names[label]}/v_{names[label]}_g{group:02d}_c01.avi"
                (test.append(video) if group == split else train.append(f"{video} {index}"))
        (lists / f"trainlist{split:02d}.txt").write_bytes("".join(f"{line}\r\n" for line in train).encode())
        (lists / f"testlist{split:02d}.txt").write_bytes("".join(f"{line}\r\n" for line in test).encode())
    return root
