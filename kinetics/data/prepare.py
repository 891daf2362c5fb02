"""Fetch, verify and extract the official UCF-101 and HMDB-51 archives into a prepared root.

The archives and their URLs are data (``manifests/video_folders.json``, installed as
``kinetics.registry``). Each one is downloaded into ``{root}/archives/`` by
``kinetics.fetch`` (a ``.part`` file resumed with HTTP Range requests, renamed only once
complete), checked (size, and sha256 where the registry knows it), then extracted safely
(``kinetics.data.archives``) into the layout of ``kinetics.data.splits.FolderLayout``;
``<name>.done.json`` then records that it need not be fetched again. Every step resumes: re-running after a crash redoes only what is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Literal

from kinetics.corpus.layout import CorpusLayout
from kinetics.files import atomic_output
from kinetics.data.archives import ArchiveError, ArchiveFormat, ExtractionReport, UnsafeArchiveError, extract_archive, list_members
from kinetics.data.splits import ARCHIVES_DIR, FolderDatasetName, FolderLayout, check_dataset_name
from kinetics.errors import ChecksumError
from kinetics.fetch import FetchError, fetch
from kinetics.progress import Progress

REGISTRY_FILE = "video_folders.json"


@dataclass(frozen=True)
class ArchiveSource:
    """One official archive: where to get it, how to check it, and where it goes in the prepared root."""

    name: str
    role: Literal["videos", "splits"]
    archive_format: ArchiveFormat
    url: str
    mirrors: tuple[str, ...] = ()
    size_bytes: int | None = None
    sha256: str | None = None
    strip_components: int = 0
    nested: bool = False  # the archive holds one archive per class, extracted in turn

    def __post_init__(self) -> None:
        if "/" in self.name or "\\" in self.name or self.name.startswith("."):
            raise ValueError(f"archive name must be a plain file name, got {self.name!r}")
        if self.role not in ("videos", "splits"):
            raise ValueError(f"{self.name}: role must be 'videos' or 'splits', got {self.role!r}")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"{self.name}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")

    def urls(self, base_url: str | None = None) -> tuple[str, ...]:
        """The URLs to try in order: ``{base_url}/{name}`` alone when a base is given, else the official ones."""
        if base_url:
            return (f"{base_url.rstrip('/')}/{self.name}",)
        return (self.url, *self.mirrors)


def archive_sources(dataset: FolderDatasetName) -> tuple[ArchiveSource, ...]:
    """The registry's archives for ``dataset``."""
    check_dataset_name(dataset)
    data = json.loads(resources.files("kinetics.registry").joinpath(REGISTRY_FILE).read_text(encoding="utf-8"))
    wanted = {f for f in ArchiveSource.__dataclass_fields__}
    sources = []
    for entry in data["datasets"][dataset]["archives"]:
        values = {k: v for k, v in entry.items() if k in wanted}
        values["archive_format"] = entry["format"]
        values["mirrors"] = tuple(entry.get("mirrors", ()))
        sources.append(ArchiveSource(**values))
    return tuple(sources)


@dataclass(frozen=True)
class PrepareOptions:
    dataset: FolderDatasetName
    root: Path
    base_url: str | None = None  # fetch every archive from {base_url}/{name} instead of the official URLs
    keep_archives: bool = False  # keep the downloaded archives after a verified extraction
    verify_checksums: bool = True  # compare with the registry's size and sha256 where known
    attempts: int = 5  # per URL; each attempt resumes where the last one stopped
    timeout_seconds: float = 60.0
    retry_wait_seconds: float = 2.0
    show_progress: bool | None = None  # None: only on a terminal
    sources: tuple[ArchiveSource, ...] | None = None  # None: the registry's archives for the dataset

    def __post_init__(self) -> None:
        check_dataset_name(self.dataset)
        object.__setattr__(self, "root", Path(self.root))
        if self.sources is None:
            object.__setattr__(self, "sources", archive_sources(self.dataset))
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")


@dataclass(frozen=True)
class ArchiveOutcome:
    name: str
    already_done: bool  # extracted by an earlier run; nothing fetched
    downloaded_bytes: int  # fetched by this run
    resumed_from_bytes: int  # bytes of a .part file this run continued from
    extracted: int  # files written by this run
    skipped: int  # files already on disk


@dataclass(frozen=True)
class PrepareSummary:
    dataset: str
    root: Path
    archives: tuple[ArchiveOutcome, ...]
    videos_listed: int  # distinct videos in split 1's files
    videos_missing: int  # of those, absent from disk
    missing_examples: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {**asdict(self), "root": str(self.root)}


def prepare_dataset(options: PrepareOptions) -> PrepareSummary:
    """Download, verify and extract ``options.dataset`` into ``options.root``; resumes any earlier run."""
    layout = FolderLayout(options.dataset, options.root)
    CorpusLayout(layout.root).ensure_writable()
    downloads = layout.root / ARCHIVES_DIR
    downloads.mkdir(exist_ok=True)
    outcomes = tuple(_prepare_archive(source, layout, downloads, options) for source in options.sources)
    split = layout.read_split(1)
    _, missing = layout.locate(split.entries)
    examples = tuple(e.video_relpath for e in missing[:5])
    return PrepareSummary(options.dataset, layout.root, outcomes, len(split.entries), len(missing), examples)


def _prepare_archive(source: ArchiveSource, layout: FolderLayout, downloads: Path, options: PrepareOptions) -> ArchiveOutcome:
    marker = downloads / f"{source.name}.done.json"
    if marker.is_file():
        return ArchiveOutcome(source.name, True, 0, 0, 0, 0)
    archive = downloads / source.name
    staging = downloads / f"{source.name}.d"  # the per-class archives of a nested one
    fetched = (0, 0)
    if not archive.is_file():
        with Progress(1, description=f"download {source.name}", unit="archive", show=options.show_progress) as progress:
            fetched = _download(source, archive, options)
            progress.update("ok")
    destination = layout.videos_dir if source.role == "videos" else layout.splits_dir
    try:
        if source.nested:
            outer = _extract(archive, staging, source.archive_format, 0, options)
            reports = [outer] + [
                _extract(inner, destination, source.archive_format, source.strip_components, options)
                for inner in outer.files
                if inner.suffix.lower() == f".{source.archive_format}"
            ]
        else:
            reports = [_extract(archive, destination, source.archive_format, source.strip_components, options)]
    except UnsafeArchiveError:
        raise  # keep the archive for inspection; downloading it again would not help
    except ArchiveError as err:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise ArchiveError(f"{err}; removed the download so that the next run fetches it again") from err
    done = {"name": source.name, "files": sum(len(r.files) for r in reports), "finished_at": datetime.now(timezone.utc).isoformat()}
    with atomic_output(marker) as temp:
        temp.write_text(json.dumps(done) + "\n")
    if not options.keep_archives:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    extracted, skipped = sum(r.extracted for r in reports), sum(r.skipped for r in reports)
    return ArchiveOutcome(source.name, False, fetched[0], fetched[1], extracted, skipped)


def _extract(archive: Path, destination: Path, archive_format: ArchiveFormat, strip: int, options: PrepareOptions) -> ExtractionReport:
    total = sum(1 for m in list_members(archive, archive_format) if not m.is_dir)
    with Progress(total, description=f"extract {archive.name}", unit="file", show=options.show_progress) as progress:
        return extract_archive(
            archive, destination, archive_format=archive_format, strip_components=strip, on_file=progress.update
        )


# -- download ------------------------------------------------------------------------------------
def _download(source: ArchiveSource, archive: Path, options: PrepareOptions) -> tuple[int, int]:
    """Fetch ``archive`` from the first of its URLs that works; returns (bytes now on disk, resumed from)."""
    check = options.verify_checksums
    problems = []
    for url in source.urls(options.base_url):
        try:
            fetched = fetch(
                url, archive, sha256=source.sha256 if check else None, attempts=options.attempts,
                timeout_seconds=options.timeout_seconds, retry_pause_seconds=options.retry_wait_seconds,
            )
        except FetchError as err:
            problems.append(str(err))
            continue
        if check and source.size_bytes is not None and fetched.bytes != source.size_bytes:
            archive.unlink()
            raise ChecksumError(
                f"{source.name} downloaded from {url} is {fetched.bytes} bytes, the registry expects "
                f"{source.size_bytes}; removed it, run again to download it afresh"
            )
        return fetched.bytes - fetched.resumed_from_bytes, fetched.resumed_from_bytes
    raise FetchError(f"could not download {source.name}: " + "; ".join(problems))
