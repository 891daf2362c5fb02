"""Video with known motion: a smooth random texture sliding by whole pixels every frame, encoded by ffmpeg."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kinetics.ffmpeg import run_ffmpeg


def texture_frames(*, dx: int, dy: int, frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 [frames, height, width]: frame n + 1 is frame n moved right by ``dx`` and down by ``dy``."""
    margin = 8
    big_h, big_w = height + abs(dy) * frames + 2 * margin, width + abs(dx) * frames + 2 * margin
    noise = np.random.default_rng(seed).random((big_h, big_w), dtype=np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    texture = (30 + 195 * smooth).astype(np.uint8)
    top0 = margin + (abs(dy) * frames if dy > 0 else 0)
    left0 = margin + (abs(dx) * frames if dx > 0 else 0)
    return np.stack([texture[top0 - n * dy : top0 - n * dy + height, left0 - n * dx : left0 - n * dx + width] for n in range(frames)])


def encode_grey(frames: np.ndarray, path: Path, *, fps: float) -> Path:
    """H.264 MP4 of grey frames (near-lossless), through a raw file: no shell, no pipe."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".gray")
    raw.write_bytes(np.ascontiguousarray(frames).tobytes())
    height, width = frames.shape[1:]
    run_ffmpeg([
        "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", f"{fps}", "-i", str(raw),
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-g", "12", "-pix_fmt", "yuv420p", "-an", str(path),
    ])
    raw.unlink()
    return path
