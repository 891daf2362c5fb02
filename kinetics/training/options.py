"""What ``evaluate``, ``features`` and ``transfer`` do, as dataclasses: one field per flag.

Apart from the code that runs them (which needs torch), so that building the CLI, and every
``--help``, never imports torch. ``TestInput`` holds how a clip is read at test time, shared by
evaluate and features.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kinetics.data.splits import FolderDatasetName
from kinetics.executors import ExecutorName
from kinetics.training.config import ConfigError, Crops, OnError, Precision, check_at_least_one, check_choice, check_choices
from kinetics.training.flags import option

if TYPE_CHECKING:
    from kinetics.data.sampling import SamplingOptions
    from kinetics.data.transforms import SpatialOptions
    from kinetics.training.views import ThreeCrop

TransferMode = Literal["fixed", "full"]
TransferStream = Literal["rgb", "flow", "both"]


@dataclass(frozen=True, kw_only=True)
class TestInput:
    """How each clip is read at test time (the options evaluate and features share; each field is a flag)."""

    frames: int = option("frames per view (the paper: 250, a whole 10 s clip; shorter clips loop)", 250)
    fps: float = option("frame rate clips are sampled at", 25.0)
    short_side_pixels: int | None = option("resize the short side to this first ('none': keep)", 256)
    crop_pixels: int = option("square crop size", 224)
    crops: Crops = option("spatial crops per view, averaged: 1 (centre, the paper) or 3 (along the long side)", 1)
    views: int = option("temporal windows per clip, evenly spaced, averaged (1: the centre window)", 1)

    def __post_init__(self) -> None:
        check_choices(self, "crops")
        check_at_least_one(self, "frames", "crop_pixels", "views", "short_side_pixels")

    def test_input(self) -> TestInput:
        """These fields alone (what a worker needs), from an options class that extends this one."""
        return TestInput(**{f.name: getattr(self, f.name) for f in dataclasses.fields(TestInput)})

    def sampling(self) -> SamplingOptions:
        from kinetics.training.views import test_sampling

        return test_sampling(frames=self.frames, fps=self.fps, views=self.views)

    def spatial(self) -> SpatialOptions:
        from kinetics.training.views import test_spatial

        return test_spatial(short_side_pixels=self.short_side_pixels, crop_pixels=self.crop_pixels, crops=self.crops)

    def transform(self) -> ThreeCrop | None:
        from kinetics.training.views import ThreeCrop

        return ThreeCrop(self.crop_pixels) if self.crops == 3 else None

    def describe(self) -> str:
        window = f"centre {self.frames} frames" if self.views == 1 else f"{self.views} windows of {self.frames} frames"
        resize = f"short side {self.short_side_pixels}, " if self.short_side_pixels else ""
        crop = "centre" if self.crops == 1 else "3"
        return f"{window} at {self.fps:g} fps, {resize}{crop} {self.crop_pixels}x{self.crop_pixels} crop(s), logits averaged"


@dataclass(frozen=True, kw_only=True)
class EvalOptions(TestInput):
    """What ``kinetics evaluate`` does; each field is one flag (the test input's are :class:`TestInput`'s)."""

    root: Path = option("corpus root")
    checkpoint: str = option("I3D checkpoint (registered name or path), RGB or flow (told by its input channels)")
    split: str = option("split to evaluate (the paper's figures are on test, whose labels are not public)", "val")
    flow_checkpoint: str | None = option("flow checkpoint to fuse with an RGB --checkpoint (two-stream)", None)
    flow_method: str = option("flow method whose files the flow stream reads", "tvl1")
    batch_size: int = option("clips per forward pass", 1)
    workers: int = option("DataLoader worker processes", 2)
    device: str = option("auto, cpu, cuda or cuda:N", "auto")
    precision: Precision = option("amp: float16 autocast (CUDA); auto: amp on CUDA, fp32 on CPU", "auto")
    limit: int | None = option("evaluate at most this many clips ('none': all)", None)
    predictions: Path | None = option("write per-clip predictions to this Parquet file ('none': do not)", None)
    on_error: OnError = option("a clip that fails to decode: skip and count it, or raise", "skip")
    cache_dir: str | None = option("checkpoint cache ('none': $KINETICS_CACHE/checkpoints)", None)
    base_url: str | None = option("mirror that serves registered checkpoint files", None)
    progress: bool | None = option("show a progress bar ('none': on a terminal)", None)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "root", Path(self.root))
        check_choices(self, "precision", "on_error")
        check_at_least_one(self, "batch_size", "limit")


@dataclass(frozen=True, kw_only=True)
class FeatureOptions(TestInput):
    """What ``kinetics features`` does; each field is one flag (the test input's are :class:`TestInput`'s)."""

    root: Path = option("corpus root")
    checkpoint: str = option("I3D checkpoint (registered name or path); its input channels choose RGB or flow")
    out: Path = option("output Parquet file", Path("features.parquet"))
    split: str | None = option("split to embed ('none': every split with ok clips)", None)
    flow_method: str = option("flow method whose files a flow checkpoint reads", "tvl1")
    batch_clips: int = option("clips per work item, embedded as one batch", 8)
    jobs: int = option("parallel workers", 1)
    executor: ExecutorName = option("local process pool or a Ray cluster", "local")
    address: str | None = option("Ray cluster address", None)
    device: str = option("auto, cpu, cuda or cuda:N (in each worker)", "auto")
    precision: Precision = option("amp: float16 autocast (CUDA); auto: amp on CUDA, fp32 on CPU", "auto")
    threads: int | None = option("torch threads per worker ('none': cores / jobs)", None)
    limit: int | None = option("embed at most this many clips ('none': all)", None)
    cache_dir: str | None = option("checkpoint cache ('none': $KINETICS_CACHE/checkpoints)", None)
    base_url: str | None = option("mirror that serves registered checkpoint files", None)
    progress: bool | None = option("show a progress bar ('none': on a terminal)", None)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "out", Path(self.out))
        check_at_least_one(self, "batch_clips", "jobs", "threads", "limit")
        check_choices(self, "executor", "precision")


@dataclass(frozen=True)
class TransferOptions:
    """What ``kinetics transfer`` does; each field is one flag."""

    dataset: FolderDatasetName = option("ucf101 or hmdb51")
    root: Path = option("prepared dataset root (kinetics prepare)")
    init: str = option("Kinetics-trained I3D to start from: registered name or path (RGB for --stream both)")
    flow_init: str | None = option("flow checkpoint for --stream both", None)
    split: str = option("official split: 1, 2, 3, or all (the mean over the three is Table 5's figure)", "1")
    stream: TransferStream = option("rgb, flow, or both (two-stream: logits added)", "rgb")
    mode: TransferMode = option("fixed: train a new last layer on frozen features; full: fine-tune end to end", "fixed")
    out: Path = option("directory for the fine-tuning runs (mode full)", Path("runs/transfer"))
    epochs: int = option("passes over the training clips (fixed: over their features)", 30)
    lr: float | None = option("learning rate ('none': 0.1 fixed, 0.01 full)", None)
    batch_size: int | None = option("clips (full) or features (fixed) per step ('none': 6 full, 64 fixed)", None)
    momentum: float = option("SGD momentum", 0.9)
    weight_decay: float = option("L2 weight decay", 1e-7)
    dropout: float = option("dropout before the new last layer", 0.5)
    fixed_train_views: int = option("fixed: random training views embedded per clip", 1)
    frames: int = option("frames per training clip", 64)
    eval_frames: int = option("frames per test clip (250 = 10 s; UCF/HMDB clips are shorter and are looped)", 250)
    fps: float = option("frame rate clips are sampled at", 25.0)
    short_side_pixels: int | None = option("resize the short side to this first ('none': keep)", 256)
    crop_pixels: int = option("square crop size", 224)
    flow_method: str = option("flow method whose files the flow stream reads", "tvl1")
    workers: int = option("DataLoader worker processes", 2)
    device: str = option("auto, cpu, cuda or cuda:N", "auto")
    precision: Precision = option("amp: float16 autocast (CUDA); auto: amp on CUDA, fp32 on CPU", "auto")
    seed: int = option("seed of data order, augmentation and the new layer", 0)
    max_steps: int | None = option("full: stop each fine-tuning run after this many steps", None)
    cache_dir: str | None = option("checkpoint cache ('none': $KINETICS_CACHE/checkpoints)", None)
    base_url: str | None = option("mirror that serves registered checkpoint files", None)
    progress: bool | None = option("show progress bars ('none': on a terminal)", None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "out", Path(self.out))
        check_choices(self, "dataset", "stream", "mode")
        check_choice("split", str(self.split), ("1", "2", "3", "all"))
        if self.stream == "both" and self.flow_init is None:
            raise ConfigError("--stream both needs --flow-init (the flow checkpoint); --init is the RGB one")
        check_at_least_one(self, "epochs", "fixed_train_views", "frames", "eval_frames", "crop_pixels", "batch_size",
                           "max_steps", "short_side_pixels")

    @property
    def splits(self) -> tuple[int, ...]:
        return (1, 2, 3) if self.split == "all" else (int(self.split),)

    @property
    def streams(self) -> tuple[str, ...]:
        return ("rgb", "flow") if self.stream == "both" else (self.stream,)

    def init_of(self, stream: str) -> str:
        return self.flow_init if stream == "flow" and self.stream == "both" else self.init
