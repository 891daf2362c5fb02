"""Sizes the training tests share: a 3-class motion corpus of 16-frame 32x32 clips, trained on 8-frame windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLASSES = ("moving_left", "moving_right", "static")
FRAMES = 16  # per clip (0.64 s at 25 fps)
SIZE = 32  # pixels, square
#: TrainConfig settings every training test shares: 8-frame clips of 32x32, no resize, one crop position
TINY = dict(frames=8, short_side_pixels=None, crop_pixels=SIZE, workers=0, log_every_steps=1, tensorboard=False)
#: the same as command-line flags, for evaluate / features (whole 16-frame clips)
TINY_EVAL_FLAGS = ["--frames", str(FRAMES), "--short-side-pixels", "none", "--crop-pixels", str(SIZE), "--workers", "0"]


@dataclass(frozen=True)
class Corpus:
    root: Path
    classes: tuple[str, ...]
    train: int
    val: int
    val_missing: int
