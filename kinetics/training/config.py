"""TrainConfig: every hyper-parameter of a training run, with the I3D paper's protocol as the defaults.

One frozen dataclass is the single source of truth: ``kinetics train`` generates one flag per field
(:mod:`kinetics.training.flags`), a JSON or TOML file holds the same names, and the checkpoint stores
it. Precedence is defaults < file < command line (:meth:`TrainConfig.from_sources`).

Paper facts (Carreira & Zisserman 2017, section 2.3; DeepMind's README): 64-frame snippets at
25 fps, short side 256, random 224 crop and flip, SGD with momentum 0.9, dropout 0.5, weight
decay 1e-7, batch 6 per replica, learning rate 0.1 divided by 10 when the validation loss stops
improving (``lr_schedule="plateau"``) or at fixed steps (``"steps"``; DeepMind's RGB run dropped at
97k and 108k of 115k steps).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

from kinetics.errors import KineticsError
from kinetics.models.architecture import IN_CHANNELS
from kinetics.modality import Modality
from kinetics.training.flags import option

Stream = Modality  # what training calls a modality
Init = Literal["imagenet2d", "checkpoint", "scratch"]
TrainDataset = Literal["kinetics", "ucf101", "hmdb51"]
LrSchedule = Literal["plateau", "steps", "constant"]
Precision = Literal["auto", "fp32", "amp"]
OnError = Literal["raise", "skip"]
TemporalPadding = Literal["zeros", "replicate"]
Crops = Literal[1, 3]  # spatial crops per test view: the centre one (the paper), or three along the long side


class ConfigError(KineticsError):
    """A configuration value or file is invalid; the message names the field or the file."""


@dataclass(frozen=True)
class TrainConfig:
    """What ``kinetics train`` does. Each field is one command-line flag (``--lr-drop-factor`` ...)."""

    root: Path | None = option("corpus root (Kinetics) or prepared UCF-101 / HMDB-51 root", None)
    stream: Stream = option("input stream: RGB frames or optical flow", "rgb")
    init: Init = option("initial weights: inflated ImageNet Inception-v1, an I3D checkpoint, or random", "scratch")
    init_weights: str | None = option(
        "imagenet2d: path to a torchvision-named GoogLeNet .pth; checkpoint: a registered name or a path", None
    )
    dataset: TrainDataset = option("what --root holds", "kinetics")
    split: str = option("Kinetics split to train on", "train")
    val_split: str | None = option("Kinetics split for the validation loss ('none': no validation)", "val")
    fold: int = option("UCF-101 / HMDB-51 official split number (1, 2 or 3)", 1)
    classes: int | None = option("number of classes ('none': from the index or the split files)", None)
    # -- input
    frames: int = option("frames per training clip", 64)
    fps: float = option("frame rate clips are sampled at", 25.0)
    short_side_pixels: int | None = option("resize the short side to this before cropping ('none': keep)", 256)
    crop_pixels: int = option("square crop size", 224)
    flip: bool = option("random horizontal flip (flow x is negated)", True)
    flow_method: str = option("flow method whose files the flow stream reads", "tvl1")
    on_error: OnError = option("a clip that fails to load: raise, or skip it (logged once)", "skip")
    # -- optimisation
    batch_size: int = option("clips per step on each process (DeepMind: 6 per replica)", 6)
    epochs: int = option("passes over the training set", 40)
    max_steps: int | None = option("stop after this many optimizer steps ('none': epochs decide)", None)
    lr: float = option("initial learning rate", 0.1)
    momentum: float = option("SGD momentum", 0.9)
    weight_decay: float = option("L2 weight decay", 1e-7)
    dropout: float = option("dropout probability before the logits", 0.5)
    lr_schedule: LrSchedule = option("plateau: drop when the validation loss stops improving; steps: at --lr-milestones", "plateau")
    lr_drop_factor: float = option("factor the learning rate is multiplied by at each drop", 0.1)
    lr_milestones: tuple[int, ...] = option("steps at which the learning rate drops (lr_schedule=steps)", ())
    plateau_patience: int = option("validations without improvement before a drop (lr_schedule=plateau)", 2)
    temporal_padding: TemporalPadding = option("temporal padding of the 3D convs", "zeros")
    bn_momentum: float | None = option("BatchNorm running-statistics momentum ('none': the model's 0.01)", None)
    # -- run
    out: Path = option("run directory: checkpoints, metrics.jsonl, TensorBoard events, model.pt", Path("runs/i3d"))
    resume: bool = option("continue from OUT/last.pt (exactly where it stopped)", False)
    checkpoint_every_steps: int = option("also checkpoint every this many steps (0: only at epoch ends)", 1000)
    log_every_steps: int = option("write a metrics line every this many steps", 10)
    val_max_clips: int | None = option("validate on at most this many clips ('none': all)", None)
    workers: int = option("DataLoader worker processes per training process", 4)
    device: str = option("auto (CUDA when available), cpu, cuda or cuda:N", "auto")
    precision: Precision = option("amp: autocast + GradScaler (CUDA only); auto: amp on CUDA, fp32 on CPU", "auto")
    seed: int = option("seed of the data order, augmentation and initialisation", 0)
    tensorboard: bool = option("also write TensorBoard events when tensorboard is installed", True)
    cache_dir: str | None = option("checkpoint cache ('none': $KINETICS_CACHE/checkpoints)", None)
    base_url: str | None = option("mirror that serves registered checkpoint files (--init checkpoint)", None)

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        if self.root is None:
            raise ConfigError("root is required (--root, or 'root' in the config file)")
        set_("root", Path(self.root))
        set_("out", Path(self.out))
        set_("lr_milestones", tuple(int(m) for m in self.lr_milestones))
        check_choices(self, "stream", "init", "dataset", "lr_schedule", "precision", "on_error", "temporal_padding")
        check_at_least_one(self, "frames", "crop_pixels", "batch_size", "epochs", "log_every_steps", "max_steps",
                           "classes", "short_side_pixels", "val_max_clips")
        if not self.fps > 0 or not self.lr > 0 or self.momentum < 0 or self.weight_decay < 0:
            raise ConfigError(f"need fps > 0, lr > 0, momentum >= 0, weight_decay >= 0: got {self.fps=}, {self.lr=}, "
                              f"{self.momentum=}, {self.weight_decay=}")
        if not 0 <= self.dropout < 1 or not 0 < self.lr_drop_factor <= 1:
            raise ConfigError(f"need 0 <= dropout < 1 and 0 < lr_drop_factor <= 1: got {self.dropout=}, {self.lr_drop_factor=}")
        if self.bn_momentum is not None and not 0 < self.bn_momentum <= 1:
            raise ConfigError(f"bn_momentum must be in (0, 1] or none, got {self.bn_momentum}")
        if self.fold not in (1, 2, 3):
            raise ConfigError(f"fold must be 1, 2 or 3, got {self.fold}")
        if self.workers < 0 or self.checkpoint_every_steps < 0 or self.plateau_patience < 0:
            raise ConfigError("workers, checkpoint_every_steps and plateau_patience must be >= 0")
        if self.init in ("imagenet2d", "checkpoint") and not self.init_weights:
            what = "a torchvision-named GoogLeNet .pth" if self.init == "imagenet2d" else "a registered name or a path"
            raise ConfigError(f"--init {self.init} needs --init-weights ({what})")
        if self.lr_schedule == "steps" and not self.lr_milestones:
            raise ConfigError("lr_schedule=steps needs lr_milestones (the steps at which the learning rate drops)")
        if sorted(self.lr_milestones) != list(self.lr_milestones):
            raise ConfigError(f"lr_milestones must be increasing, got {self.lr_milestones}")

    # -- constructors
    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "<dict>") -> TrainConfig:
        """A config from field names (dashes or underscores); an unknown name is an error naming ``source``."""
        known = {f.name for f in dataclasses.fields(cls)}
        normalised = {str(k).replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(set(normalised) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            return cls(**normalised)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: {err}") from err
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from err

    @classmethod
    def from_file(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """Read a JSON (``.json``) or TOML (``.toml``) file of field names; ``overrides`` win over it."""
        return cls.from_dict({**read_config_file(path), **overrides}, source=str(path))

    @classmethod
    def from_sources(cls, *, file: str | os.PathLike | None, overrides: dict[str, Any]) -> TrainConfig:
        """Defaults, then ``file`` (if any), then ``overrides`` (the command line)."""
        if file is None:
            return cls.from_dict(overrides, source="command line")
        return cls.from_file(file, **overrides)

    # -- views
    @property
    def in_channels(self) -> int:
        return IN_CHANNELS[self.stream]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (paths as strings, tuples as lists), the form files and checkpoints hold."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def check_at_least_one(options: Any, *names: str) -> None:
    """Each named field of ``options`` is None or at least 1; the error names the field and its value."""
    for name in names:
        value = getattr(options, name)
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")


def check_choice(name: str, value: Any, allowed: tuple) -> None:
    """Options are checked once, at the entry point; the error names the option, the value and the choices."""
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(str, allowed))}")


def check_choices(options: Any, *names: str) -> None:
    """:func:`check_choice` for each named ``Literal``-typed field of a dataclass, against its annotation."""
    for name in names:
        check_choice(name, getattr(options, name), _literal_values(type(options), name))


@functools.lru_cache(maxsize=None)
def _literal_values(cls: type, name: str) -> tuple:
    return get_args(get_type_hints(cls)[name])


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The flat table of a ``.json`` or ``.toml`` config file (a ``[train]`` table in TOML is accepted too)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config file: {err.strerror or err}") from err
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            import tomllib  # Python 3.11+

            data = tomllib.loads(text)
            data = data.get("train", data) if isinstance(data.get("train"), dict) else data
        else:
            raise ConfigError(f"{path}: config files are .json or .toml, got {suffix or 'no suffix'!r}")
    except (ValueError, ImportError) as err:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(f"{path}: not valid {suffix[1:].upper()}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings, found {type(data).__name__}")
    return data
