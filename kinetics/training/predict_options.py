"""What ``kinetics predict`` does, as a dataclass: one field per flag (no torch, so ``--help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kinetics.training.config import ConfigError, check_at_least_one
from kinetics.training.flags import option

#: The paper's test input is the whole clip; a longer video goes through in pieces of this many frames
#: (10 s at 25 fps, the paper's test length), so memory stays bounded and progress can be shown.
CHUNK_FRAMES = 250


@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """Top-k classes of video files with a pretrained I3D (the paper's test protocol by default)."""

    videos: tuple[Path, ...] = field(default=(), metadata={"help": "video files (anything FFmpeg reads)"})
    checkpoint: str = option("I3D checkpoint (registered name or path), RGB or flow (told by its input channels)")
    flow_checkpoint: str | None = option("flow checkpoint to fuse with an RGB --checkpoint (two-stream: logits added)", None)
    top: int = option("classes to list per video", 5)
    window: tuple[float, float] | None = field(default=None, metadata={"help": "START END in seconds"})
    fps: float = option("frame rate the video is sampled at", 25.0)
    short_side_pixels: int | None = option("resize the short side to this first ('none': keep the frames' size)", 256)
    crop_pixels: int | None = option("centre square crop ('none': the whole resized frame)", 224)
    chunk_frames: int = option("frames per forward pass; longer videos go in pieces, logits averaged (0: whole)", CHUNK_FRAMES)
    flow_method: str = option("optical flow computed for a flow checkpoint (the paper: tvl1)", "tvl1")
    device: str = option("auto, cpu, cuda or cuda:N", "auto")
    cache_dir: str | None = option("checkpoint cache ('none': $KINETICS_CACHE/checkpoints)", None)
    base_url: str | None = option("mirror that serves registered checkpoint files", None)
    progress: bool | None = option("show a progress bar ('none': on a terminal)", None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "videos", tuple(Path(v) for v in self.videos))
        if not self.videos:
            raise ConfigError("name at least one video file")
        check_at_least_one(self, "top", "short_side_pixels", "crop_pixels")
        if not self.fps > 0:
            raise ConfigError(f"--fps must be positive, got {self.fps}")
        if self.chunk_frames < 0:
            raise ConfigError(f"--chunk-frames must be 0 (whole video) or positive, got {self.chunk_frames}")
        if self.window is not None:
            start, end = (float(v) for v in self.window)
            if not 0 <= start < end:
                raise ConfigError(f"--window START END needs 0 <= START < END seconds, got {start:g} {end:g}")
            object.__setattr__(self, "window", (start, end))

    def describe(self) -> str:
        resize = f"short side {self.short_side_pixels}, " if self.short_side_pixels else ""
        crop = f"centre {self.crop_pixels}x{self.crop_pixels} crop" if self.crop_pixels else "no crop"
        span = "the whole video" if self.window is None else f"{self.window[0]:g}-{self.window[1]:g} s"
        return f"{span} at {self.fps:g} fps, {resize}{crop}, logits averaged over time"
