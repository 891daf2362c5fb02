"""Official manifests: pull them from DeepMind or the CVDF mirror, import local copies, cache them.

The cache (``$KINETICS_CACHE``, else ``~/.cache/kinetics``) keeps, per version::

    manifests/{version}/{split}.parquet     normalised (MANIFEST_SCHEMA), one file per split
    manifests/{version}/meta.json           class list and where each split came from (url, sha256, rows)
    manifests/{version}/raw/{source}/...    the files as downloaded, for provenance
    manifests/{version}/.incoming/...       unfinished or unverified downloads (resumed by the next pull)

A pull downloads and verifies every requested file before it changes anything in the cache, so a
failed checksum or row count leaves the previous manifest in place. ``label_index`` of every split
follows the version's sorted class list (the union of the labels seen in its splits).

An update of the cache (new splits, older splits re-indexed to a grown class list, meta.json) is
atomic as a whole: every file is staged beside its final name, then one commit file listing the
renames is published, then the renames are done. A process killed before the commit leaves the old
cache (and staged files, removed by the next update); killed after it, the next reader of the cache
finishes the renames. So the splits never index different class lists.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from kinetics.files import atomic_output, fsync_dir
from kinetics.errors import ChecksumError, ManifestError
from kinetics.fetch import cache_dir, fetch, sha256_of
from kinetics.manifests.readers import ImportReport, Manifest
from kinetics.manifests.registry import KnownFile, Registry, Source, SourceFile, SourceName
from kinetics.manifests.schema import normalise_split



_COMMIT = ".commit.json"
_STAGED = ".staged"


def manifest_dir(version: str) -> Path:
    """The cache directory of ``version``, with any committed update finished first (see the module doc)."""
    directory = cache_dir() / "manifests" / str(version)
    if (directory / _COMMIT).is_file():
        _finish_commit(directory)
    return directory


@dataclass(frozen=True)
class FileCheck:
    """What was verified about one pulled file."""

    split: str
    url: str
    sha256: str
    rows_read: int
    rows_kept: int
    duplicates: int
    problems: int
    expected_rows: int | None
    expected_sha256: str | None


@dataclass(frozen=True)
class PullResult:
    version: str
    source: str
    manifest: Manifest
    paths: dict[str, Path]
    files: tuple[FileCheck, ...]
    unavailable: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "source": self.source,
            "rows": len(self.manifest),
            "classes": len(self.manifest.classes),
            "paths": {split: str(p) for split, p in self.paths.items()},
            "files": [vars(f) for f in self.files],
            "unavailable": self.unavailable,
            "problems": [str(p) for p in self.manifest.report.problems],
        }


@dataclass(frozen=True)
class ImportResult:
    manifest: Manifest
    paths: tuple[Path, ...]
    known: KnownFile | None = None  # set when the file is a published one we recognise by sha256

    def as_dict(self) -> dict:
        return {
            **self.manifest.report.as_dict(),
            "version": self.manifest.table.column("version")[0].as_py() if len(self.manifest) else None,
            "splits": self.manifest.splits,
            "classes": len(self.manifest.classes),
            "paths": [str(p) for p in self.paths],
            "recognised_as": None if self.known is None else vars(self.known),
        }


def pull_manifest(
    version: str,
    *,
    base_url: str | None = None,
    source: SourceName | None = None,
    splits: Sequence[str] | None = None,
    strict: bool = False,
    registry: Registry | None = None,
) -> PullResult:
    """Download, verify, normalise and cache the official annotation files of one version.

    Args:
        source: ``"cvdf"`` or ``"deepmind"``; None takes the registry's default for the version.
        base_url: a mirror that serves the same paths as the source.
        splits: a subset of the source's splits (all of them when None).
    """
    registry = registry or Registry.load()
    entry = registry.version(version)
    src = entry.source(source)
    wanted = _wanted_splits(src, splits, entry.version)
    incoming = manifest_dir(entry.version) / ".incoming" / src.name
    downloaded, archive = _download(src, wanted, incoming, base_url)
    received = [path for path, _ in downloaded.values()] + ([archive] if archive else [])
    checks, manifests = {}, {}
    try:
        for split, (path, url) in downloaded.items():
            manifests[split], checks[split] = _verify(path, url, src.files[split], entry.version, entry.classes, strict)
    except Exception:
        for path in received:  # a file that failed verification is not worth resuming
            path.unlink(missing_ok=True)
        raise
    raw = manifest_dir(entry.version) / "raw" / src.name
    raw.mkdir(parents=True, exist_ok=True)
    for path in received:
        os.replace(path, raw / path.name)
    origins = {
        split: {"source": src.name, "url": c.url, "sha256": c.sha256, "rows": c.rows_kept} for split, c in checks.items()
    }
    paths, combined = _store(entry.version, manifests, origins)
    unavailable = {s: why for s, why in src.unavailable.items() if splits is None}
    return PullResult(entry.version, src.name, combined, paths, tuple(checks.values()), unavailable)


def import_manifest(
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    version: str | None = None,
    split: str | None = None,
    strict: bool = False,
    registry: Registry | None = None,
) -> ImportResult:
    """Normalise a CSV/JSON/Parquet manifest the user already has: into the cache, or to ``out``.

    A file recognised by its sha256 as a published one (registry ``known_files``) gets its version
    from there and its row count checked. Into the cache it goes under its version (one Parquet per
    split, so ``load_manifest(version, split)`` finds it offline); without a version, under
    ``manifests/custom/{name}.parquet``. ``split`` fills rows that carry none.
    """
    registry = registry or Registry.load()
    path = Path(path)
    digest = sha256_of(path) if path.is_file() else None
    known = registry.known_file(digest) if digest else None
    if version is None and known is not None:
        version = known.version
    if version is not None:
        version = registry.version(version).version
    manifest = Manifest.from_file(path, version=version, split=split, strict=strict)
    if known is not None and manifest.report.rows_read != known.rows:
        raise ManifestError(f"recognised as {known.name} ({known.provenance}) but read {manifest.report.rows_read} rows, not {known.rows}", file=path)
    if version is not None:
        cached = cached_classes(version)
        if cached and set(manifest.classes) <= set(cached):
            manifest = manifest.with_classes(cached)
    if out is not None:
        return ImportResult(manifest, (manifest.to_parquet(out),), known)
    if version is None:
        return ImportResult(manifest, (manifest.to_parquet(cache_dir() / "manifests" / "custom" / f"{_stem(path)}.parquet"),), known)
    by_split = {s: _only_split(manifest, s) for s in manifest.splits}
    origins = {s: {"source": "import", "url": str(path.absolute()), "sha256": digest, "rows": len(m)} for s, m in by_split.items()}
    paths, combined = _store(version, by_split, origins)
    return ImportResult(combined, tuple(paths.values()), known)


def load_manifest(
    version: str,
    split: str | None = None,
    *,
    source: SourceName | None = None,
    base_url: str | None = None,
    registry: Registry | None = None,
) -> Manifest:
    """The cached manifest of ``version`` (one split, or all), pulling what is not cached yet."""
    registry = registry or Registry.load()
    entry = registry.version(version)
    directory = manifest_dir(entry.version)
    if split is not None:
        split = normalise_split(split)
        if not (directory / f"{split}.parquet").is_file():
            pull_manifest(entry.version, splits=[split], source=source, base_url=base_url, registry=registry)
        wanted = [split]
    else:
        served = set(entry.source(source).files)
        missing = sorted(s for s in served if not (directory / f"{s}.parquet").is_file())
        if missing:
            pull_manifest(entry.version, splits=missing, source=source, base_url=base_url, registry=registry)
        wanted = sorted(p.stem for p in directory.glob("*.parquet"))
    tables = [pq.read_table(directory / f"{s}.parquet") for s in wanted]
    table = pa.concat_tables(tables) if tables else Manifest.from_rows([]).table
    report = ImportReport(source=str(directory), rows_read=table.num_rows, rows_kept=table.num_rows)
    return Manifest(table, report, cached_classes(entry.version) or None)


def cached_splits(version: str) -> dict[str, dict]:
    """What the cache holds for ``version``: split -> origin record (source, url, sha256, rows, stored_at)."""
    meta = _read_meta(version)
    directory = manifest_dir(version)
    return {s: info for s, info in meta.get("splits", {}).items() if (directory / f"{s}.parquet").is_file()}


def cached_classes(version: str) -> list[str]:
    """The class list the cached splits of ``version`` index into (empty when nothing is cached)."""
    return list(_read_meta(version).get("classes") or [])


# -- pulling -----------------------------------------------------------------------------------------
def _wanted_splits(src: Source, splits: Sequence[str] | None, version: str) -> list[str]:
    if splits is None:
        if not src.files:
            reasons = "; ".join(f"{s}: {why}" for s, why in src.unavailable.items())
            raise ManifestError(f"source {src.name!r} serves no Kinetics-{version} annotations ({reasons})")
        return sorted(src.files)
    wanted = [normalise_split(s) for s in splits]
    for split in wanted:
        if split not in src.files:
            why = src.unavailable.get(split) or f"it serves {sorted(src.files)}"
            raise ManifestError(f"source {src.name!r} has no {split!r} split for Kinetics-{version}: {why}")
    return wanted


def _download(src: Source, splits: list[str], incoming: Path, base_url: str | None) -> tuple[dict[str, tuple[Path, str]], Path | None]:
    """Fetch every wanted file into ``incoming`` (resumable): split -> (local file, url), and the archive."""
    files = {split: src.files[split] for split in splits}
    result: dict[str, tuple[Path, str]] = {}
    archive_path = None
    if src.archive is not None and any(f.member for f in files.values()):
        url = src.url(src.archive.path, base_url)
        archive_path = fetch(url, incoming / PurePosixPath(src.archive.path).name, sha256=src.archive.sha256).path
    for split, item in files.items():
        if item.path is not None:
            url = src.url(item.path, base_url)
            fetched = fetch(url, incoming / f"{split}{PurePosixPath(item.path).suffix or '.csv'}", sha256=item.sha256)
            result[split] = (fetched.path, url)
        else:
            url = f"{src.url(src.archive.path, base_url)}#{item.member}"
            result[split] = (_extract_member(archive_path, item.member, incoming / f"{split}{PurePosixPath(item.member).suffix}"), url)
    return result, archive_path


def _extract_member(archive: Path, member: str, dest: Path) -> Path:
    """Copy one member out of a tar archive by name (never extracting paths, so nothing can escape)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            names = [m for m in tar.getmembers() if m.isfile()]
            exact = [m for m in names if m.name.lstrip("./") == member]
            same_name = [m for m in names if PurePosixPath(m.name).name == PurePosixPath(member).name]
            found = exact or (same_name if len(same_name) == 1 else [])
            if not found:
                listing = ", ".join(m.name for m in names[:20])
                raise ManifestError(f"archive has no member {member!r} (it holds: {listing})", file=archive)
            handle = tar.extractfile(found[0])
            with atomic_output(dest) as temp, open(temp, "wb") as out:
                shutil.copyfileobj(handle, out)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ManifestError(f"cannot read archive: {err}", file=archive) from err
    return dest


def _verify(path: Path, url: str, expected: SourceFile, version: str, classes: int, strict: bool) -> tuple[Manifest, FileCheck]:
    """Checksum, schema, split, labels and row count of one downloaded file; raises on any mismatch."""
    digest = sha256_of(path)
    if expected.sha256 and digest != expected.sha256.lower():
        raise ChecksumError(f"{url}: sha256 {digest} does not match the registry's {expected.sha256}; the cache was left as it was")
    manifest = Manifest.from_file(path, version=version, split=expected.split, strict=strict)
    report = manifest.report
    if expected.rows is not None and report.rows_read != expected.rows:
        raise ManifestError(f"expected {expected.rows} rows for {expected.split}, got {report.rows_read}; the cache was left as it was", file=url)
    found_splits = set(manifest.splits)
    if found_splits and found_splits != {expected.split}:
        raise ManifestError(f"expected only split {expected.split!r}, found {sorted(found_splits)}", file=url)
    if len(manifest.classes) > classes:
        raise ManifestError(f"{len(manifest.classes)} distinct labels, more than Kinetics-{version}'s {classes}", file=url)
    unlabelled = manifest.table.column("label").null_count
    if expected.labelled and unlabelled:
        raise ManifestError(f"{unlabelled} rows have no label in a split that should be labelled", file=url)
    check = FileCheck(expected.split, url, digest, report.rows_read, report.rows_kept, report.duplicates, len(report.problems), expected.rows, expected.sha256)
    return manifest, check


# -- the cache ---------------------------------------------------------------------------------------
def _store(version: str, manifests: dict[str, Manifest], origins: dict[str, dict]) -> tuple[dict[str, Path], Manifest]:
    """Write splits under one class list (the union of all cached labels), re-indexing older splits if it grew."""
    directory = manifest_dir(version)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f".*{_STAGED}"):  # from an update killed before its commit
        stale.unlink(missing_ok=True)
    meta = _read_meta(version)
    old_classes = list(meta.get("classes") or [])
    labels = set(old_classes).union(*(m.classes for m in manifests.values()))
    classes = sorted(labels)
    paths = {split: directory / f"{split}.parquet" for split in manifests}
    staged: dict[str, Path] = {}
    try:
        for split, manifest in manifests.items():
            staged[paths[split].name] = manifest.with_classes(classes).to_parquet(_staged_path(paths[split]))
        if classes != old_classes:
            for other in directory.glob("*.parquet"):
                if other.stem not in manifests:
                    staged[other.name] = Manifest(pq.read_table(other)).with_classes(classes).to_parquet(_staged_path(other))
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        splits = dict(meta.get("splits", {}))
        splits.update({s: {**info, "stored_at": stamp} for s, info in origins.items()})
        staged["meta.json"] = _staged_path(directory / "meta.json")
        _write_json(staged["meta.json"], {"version": version, "classes": classes, "splits": splits})
        _write_json(directory / _COMMIT, {"renames": {final: temp.name for final, temp in staged.items()}})  # the atomic step
    except BaseException:
        for temp in staged.values():
            temp.unlink(missing_ok=True)
        raise
    _finish_commit(directory)
    tables = [pq.read_table(paths[s]) for s in sorted(paths)]
    report = ImportReport(source=str(directory))
    for manifest in manifests.values():
        report.rows_read += manifest.report.rows_read
        report.rows_kept += manifest.report.rows_kept
        report.duplicates += manifest.report.duplicates
        report.problems.extend(manifest.report.problems)
    return paths, Manifest(pa.concat_tables(tables), report, classes)


def _staged_path(final: Path) -> Path:
    return final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}{_STAGED}"


def _finish_commit(directory: Path) -> None:
    """Do the renames a published commit file lists (again, harmlessly, after a crash part-way), then drop it."""
    commit = directory / _COMMIT
    try:
        renames = json.loads(commit.read_text(encoding="utf-8"))["renames"]
    except FileNotFoundError:
        return  # another process finished it
    except (OSError, ValueError, KeyError) as err:
        raise ManifestError(f"unreadable cache commit file ({err}); delete the directory and pull again", file=commit) from err
    for final, temp in renames.items():
        if (directory / temp).exists():
            os.replace(directory / temp, directory / final)
    fsync_dir(directory)
    commit.unlink(missing_ok=True)
    fsync_dir(directory)


def _read_meta(version: str) -> dict:
    try:
        return json.loads((manifest_dir(version) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    with atomic_output(path) as temp:
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _only_split(manifest: Manifest, split: str) -> Manifest:
    import pyarrow.compute as pc

    table = manifest.table.filter(pc.equal(manifest.table.column("split"), split))
    report = ImportReport(manifest.report.source, table.num_rows, table.num_rows)
    if split == manifest.splits[0]:  # carry the file's report once
        report = manifest.report
    return Manifest(table, report, manifest.class_names)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".json", ".csv", ".parquet"):
        name = name.removesuffix(suffix)
    return name or "manifest"
