"""Where in a clip to read: pure window samplers over target-rate frame indices.

A sampler is a function of (the clip's target-rate frame count, options, ``torch.Generator``) that
returns :class:`Window` s and keeps no state, so the same inputs give the same windows in any
process. Frame indices are at the *target* rate (25 fps by default); ``kinetics.data.timebase``
maps them to stored frames.

Short clips are looped (the I3D paper's rule): a window longer than the clip reads frames
``0, 1, ..., N-1, 0, 1, ...`` from the start of the clip, so nothing ever crashes on a short clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

SamplingMode = Literal["random", "center", "uniform", "full"]
SAMPLING_MODES: tuple[str, ...] = get_args(SamplingMode)


@dataclass(frozen=True)
class Window:
    """``num_frames`` consecutive target-rate frames from ``start_frame``, looped over ``clip_frames``."""

    start_frame: int
    num_frames: int
    clip_frames: int

    def __post_init__(self) -> None:
        if self.clip_frames < 1:
            raise ValueError(f"a window needs a clip with frames, got {self.clip_frames = }")
        if self.num_frames < 1:
            raise ValueError(f"a window needs at least one frame, got {self.num_frames = }")
        if not 0 <= self.start_frame < self.clip_frames:
            raise ValueError(f"start_frame must lie in the clip, got {self.start_frame = } of {self.clip_frames = }")

    @property
    def looped(self) -> bool:
        return self.start_frame + self.num_frames > self.clip_frames

    def indices(self) -> np.ndarray:
        """Target-rate frame index of each of the window's frames (int64, looped)."""
        return (self.start_frame + np.arange(self.num_frames, dtype=np.int64)) % self.clip_frames

    def start_seconds(self, fps: float) -> float:
        return self.start_frame / fps


def random_window(clip_frames: int, *, num_frames: int, generator: torch.Generator | None = None) -> Window:
    """A uniformly random start (training); a short clip starts at 0 and loops."""
    slack = clip_frames - num_frames
    start = 0 if slack <= 0 else int(torch.randint(0, slack + 1, (1,), generator=generator))
    return Window(start, num_frames, clip_frames)


def center_window(clip_frames: int, *, num_frames: int) -> Window:
    """The middle ``num_frames`` (testing); a short clip starts at 0 and loops."""
    return Window(max(clip_frames - num_frames, 0) // 2, num_frames, clip_frames)


def uniform_windows(clip_frames: int, *, num_frames: int, num_clips: int) -> list[Window]:
    """``num_clips`` windows with evenly spaced starts from the first to the last full window."""
    slack = max(clip_frames - num_frames, 0)
    starts = np.rint(np.linspace(0, slack, num_clips)).astype(np.int64)
    return [Window(int(start), num_frames, clip_frames) for start in starts]


def full_window(clip_frames: int, *, min_frames: int = 1) -> Window:
    """Every frame of the clip, looped up to ``min_frames`` when it is shorter."""
    return Window(0, max(clip_frames, min_frames), clip_frames)


@dataclass(frozen=True)
class SamplingOptions:
    """Which windows an item reads, at what rate.

    ``mode``: ``random`` (one window, random start), ``center`` (one window in the middle),
    ``uniform`` (``num_clips`` evenly spaced windows: multi-view testing; items are stacked
    ``[num_clips, C, T, H, W]``), ``full`` (the whole clip, at least ``num_frames`` long; lengths
    differ between clips, so batch with ``batch_size=1`` or a padding collate).
    """

    mode: SamplingMode = "random"
    num_frames: int = 64
    fps: float = 25.0
    num_clips: int = 1

    def __post_init__(self) -> None:
        if self.mode not in SAMPLING_MODES:
            raise ValueError(f"sampling mode must be one of {', '.join(SAMPLING_MODES)}, got {self.mode!r}")
        if self.num_frames < 1:
            raise ValueError(f"num_frames must be at least 1, got {self.num_frames}")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.num_clips < 1 or (self.num_clips > 1 and self.mode != "uniform"):
            raise ValueError(f"num_clips={self.num_clips} needs mode='uniform' (got mode={self.mode!r})")

    @classmethod
    def train(cls, *, num_frames: int = 64, fps: float = 25.0) -> SamplingOptions:
        """The paper's training snippets: 64 frames at 25 fps from a random start."""
        return cls("random", num_frames, fps)

    @classmethod
    def test(cls, *, num_frames: int = 250, fps: float = 25.0) -> SamplingOptions:
        """The paper's test input: the middle 250 frames, i.e. the whole of a 10 s clip (looped if shorter)."""
        return cls("center", num_frames, fps)

    @classmethod
    def multi_view(cls, num_clips: int, *, num_frames: int = 64, fps: float = 25.0) -> SamplingOptions:
        return cls("uniform", num_frames, fps, num_clips)

    @classmethod
    def full(cls, *, min_frames: int = 1, fps: float = 25.0) -> SamplingOptions:
        return cls("full", min_frames, fps)

    @property
    def stacked(self) -> bool:
        """Whether items carry a leading views dimension (``uniform`` mode, even with one view)."""
        return self.mode == "uniform"


def sample_windows(clip_frames: int, options: SamplingOptions, generator: torch.Generator | None = None) -> list[Window]:
    """The windows ``options`` asks for in a clip of ``clip_frames`` target-rate frames."""
    if options.mode == "random":
        return [random_window(clip_frames, num_frames=options.num_frames, generator=generator)]
    if options.mode == "center":
        return [center_window(clip_frames, num_frames=options.num_frames)]
    if options.mode == "uniform":
        return uniform_windows(clip_frames, num_frames=options.num_frames, num_clips=options.num_clips)
    return [full_window(clip_frames, min_frames=options.num_frames)]
