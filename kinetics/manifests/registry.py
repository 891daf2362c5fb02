"""The registry of official annotation sources, read from data (``manifests/kinetics.json``).

Facts about where DeepMind and the CVDF mirror serve each version, and what those files hold, live
in JSON with their provenance so they can be corrected without touching code. Unknown values are
``null`` and are simply not checked; nothing here is guessed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from kinetics.errors import ManifestError
from kinetics.manifests.schema import VERSIONS, normalise_split

SourceName = Literal["cvdf", "deepmind"]
SOURCES: tuple[str, ...] = get_args(SourceName)
REGISTRY_SCHEMA = "kinetics-registry/1"


@dataclass(frozen=True)
class SourceFile:
    """One split's annotation file: a URL path under the source, or a member of its archive."""

    split: str
    path: str | None = None  # relative to the source's base_url
    member: str | None = None  # name inside the source's archive
    rows: int | None = None  # data rows (header excluded) when known
    sha256: str | None = None
    labelled: bool | None = None  # every row carries a label (None: not known)

    def __post_init__(self) -> None:
        if (self.path is None) == (self.member is None):
            raise ValueError(f"split {self.split!r}: give exactly one of path or member")


@dataclass(frozen=True)
class Archive:
    path: str
    sha256: str | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class Source:
    """Where one version's annotations are served by one publisher."""

    name: str
    base_url: str
    provenance: str
    files: dict[str, SourceFile]
    archive: Archive | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # split -> why this source lacks it

    def url(self, relpath: str, base_url: str | None = None) -> str:
        return f"{(base_url or self.base_url).rstrip('/')}/{relpath.lstrip('/')}"


@dataclass(frozen=True)
class KnownFile:
    """A published annotation file recognised by its sha256 (used to identify imports)."""

    version: str
    split: str
    name: str
    sha256: str
    rows: int
    labels: int
    provenance: str


@dataclass(frozen=True)
class VersionEntry:
    version: str
    classes: int
    default_source: str
    sources: dict[str, Source]
    paper: str | None = None

    def source(self, name: str | None) -> Source:
        chosen = name or self.default_source
        if chosen not in SOURCES:
            raise ManifestError(f"source must be one of {SOURCES}, got {chosen!r}")
        if chosen not in self.sources:
            raise ManifestError(f"Kinetics-{self.version} has no {chosen!r} source in the registry")
        return self.sources[chosen]


@dataclass(frozen=True)
class Registry:
    versions: dict[str, VersionEntry]
    known_files: tuple[KnownFile, ...] = ()
    origin: str = "<registry>"

    @classmethod
    def load(cls) -> "Registry":
        """The registry shipped with the package (``kinetics.registry``)."""
        text = resources.files("kinetics.registry").joinpath("kinetics.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text), origin="kinetics.registry/kinetics.json")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Registry":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ManifestError(f"cannot read registry: {err}", file=path) from err
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict, *, origin: str = "<registry>") -> "Registry":
        if data.get("schema") != REGISTRY_SCHEMA:
            raise ManifestError(f"registry schema must be {REGISTRY_SCHEMA!r}, got {data.get('schema')!r}", file=origin)
        try:
            versions = {v: _version(v, entry) for v, entry in data["versions"].items()}
            known = tuple(KnownFile(**item) for item in data.get("known_files", []))
        except (KeyError, TypeError, ValueError) as err:
            raise ManifestError(f"malformed registry: {err}", file=origin) from err
        return cls(versions, known, origin)

    def version(self, version: str) -> VersionEntry:
        version = str(version)
        if version not in self.versions:
            raise ManifestError(f"version must be one of {sorted(self.versions)}, got {version!r}")
        return self.versions[version]

    def known_file(self, sha256: str) -> KnownFile | None:
        return next((k for k in self.known_files if k.sha256 == sha256), None)


def _version(version: str, entry: dict) -> VersionEntry:
    if version not in VERSIONS:
        raise ValueError(f"unknown version {version!r} (expected one of {VERSIONS})")
    sources = {}
    for name, src in entry["sources"].items():
        if name not in SOURCES:
            raise ValueError(f"version {version}: unknown source {name!r}")
        files = {normalise_split(s): SourceFile(split=normalise_split(s), **f) for s, f in src.get("files", {}).items()}
        archive = Archive(**src["archive"]) if src.get("archive") else None
        if archive is None and any(f.member for f in files.values()):
            raise ValueError(f"version {version} source {name}: archive members listed without an archive")
        sources[name] = Source(name, src["base_url"], src.get("provenance", ""), files, archive, dict(src.get("unavailable", {})))
    default = entry["default_source"]
    if default not in sources:
        raise ValueError(f"version {version}: default_source {default!r} is not one of its sources")
    return VersionEntry(version, int(entry["classes"]), default, sources, entry.get("paper"))
