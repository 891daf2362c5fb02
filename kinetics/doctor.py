"""``kinetics doctor``: is this machine ready to download (and decode) Kinetics? No network needed.

Each check says what it found and, when something is wrong, what to do. yt-dlp's freshness is
judged from its version, which is its release date: YouTube changes break old releases, so an old
one is the commonest cause of a run where every clip fails.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Literal

Level = Literal["ok", "warn", "fail"]
DEFAULT_BYTES_PER_CLIP = 1_000_000  # ~10 s of H.264 at a 256-pixel short side, with audio (an estimate)
STALE_AFTER_DAYS = 60


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    required: bool = True  # a failed required check makes the doctor exit 1
    advice: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not any(c.level == "fail" and c.required for c in self.checks)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def format(self) -> str:
        lines = []
        for check in self.checks:
            tag = {"ok": "ok", "warn": "warn", "fail": "FAIL" if check.required else "fail"}[check.level]
            lines.append(f"{tag:<5} {check.name:<14} {check.detail}")
            if check.advice and check.level != "ok":
                lines.append(f"{'':<20} -> {check.advice}")
        return "\n".join(lines)


def diagnose(
    *,
    root: str | os.PathLike | None = None,
    version: str | None = None,
    split: str | None = None,
    bytes_per_clip: int = DEFAULT_BYTES_PER_CLIP,
    today: date | None = None,
    stale_after_days: int = STALE_AFTER_DAYS,
) -> DoctorReport:
    """Run every check; ``root``/``version``/``split`` size the disk check for the requested download.

    Without ``version``, a root that already has a manifest (a custom corpus of 7 clips, say) is
    sized from that manifest; otherwise from Kinetics-400.
    """
    today = today or date.today()
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("ffmpeg", _ffmpeg),
        ("yt-dlp", lambda: _yt_dlp(today, stale_after_days)),
        ("yt-dlp-ejs", lambda: _optional("yt-dlp-ejs", "yt-dlp-ejs", "YouTube's JavaScript challenges may fail", "pip install -U 'yt-dlp[default]'")),
        ("javascript", _javascript),
        ("pyav", _pyav),
        ("torch", lambda: _optional("torch", "torch", "needed to train, evaluate and extract flow", "pip install torch")),
        ("numba", lambda: _optional("numba", "numba", "RGB loading falls back to NumPy colour conversion, ~20% slower", "pip install numba")),
        ("cache", lambda: _writable("cache", _cache())),
    ]
    if root is not None:
        checks.append(("corpus root", lambda: _writable("corpus root", Path(root))))
    where = Path(root) if root is not None else Path.cwd()
    checks.append(("disk", lambda: _disk(where, version, split, bytes_per_clip, required=root is not None)))
    return DoctorReport(tuple(_safely(name, check) for name, check in checks))


def _safely(name: str, check: Callable[[], Check]) -> Check:
    """A check that crashes is itself a finding, not a crash of the doctor."""
    try:
        return check()
    except Exception as err:  # noqa: BLE001 - reported, with its type, as a failed check
        return Check(name, "fail", f"check crashed: {type(err).__name__}: {err}")


def _ffmpeg() -> Check:
    from kinetics.errors import MissingDependencyError
    from kinetics.ffmpeg import MIN_VERSION, find_ffmpeg

    try:
        ffmpeg = find_ffmpeg()
    except MissingDependencyError as err:
        return Check("ffmpeg", "fail", str(err), advice="pip install imageio-ffmpeg, or put ffmpeg >= 7.0 on PATH")
    if ffmpeg.version == "unknown":
        return Check("ffmpeg", "fail", f"{ffmpeg.path} does not run or print a version", advice="set KINETICS_FFMPEG to a working ffmpeg")
    detail = f"{ffmpeg.version} ({ffmpeg.source}: {ffmpeg.path})"
    if ffmpeg.skipped:  # find_ffmpeg passed over an old one on PATH: say so, it is what the user's shell runs
        return Check("ffmpeg", "ok", f"{detail}; not PATH's: {ffmpeg.skipped}")
    if ffmpeg.release is None:
        return Check("ffmpeg", "warn", f"{detail}; cannot tell its release from the version (>= {'.'.join(map(str, MIN_VERSION))} needed)",
                     advice="set KINETICS_FFMPEG to a released ffmpeg if downloads misreport failures")
    return Check("ffmpeg", "ok", detail)


def _yt_dlp(today: date, stale_after_days: int) -> Check:
    try:
        version = importlib.metadata.version("yt-dlp")
    except importlib.metadata.PackageNotFoundError:
        return Check("yt-dlp", "fail", "not installed", advice="pip install -U 'yt-dlp[default]'")
    released = release_date(version)
    if released is None:
        return Check("yt-dlp", "warn", f"{version} (cannot tell its age from the version)", advice="pip install -U yt-dlp")
    age = (today - released).days
    detail = f"{version}, {age} days old"
    if age > stale_after_days:
        return Check("yt-dlp", "warn", f"{detail}; yt-dlp breaks when YouTube changes, upgrade with pip install -U yt-dlp",
                     advice="pip install -U yt-dlp")
    return Check("yt-dlp", "ok", detail)


def release_date(version: str) -> date | None:
    """yt-dlp versions are release dates: ``2025.11.12`` (or ``2025.11.12.1``, ``2025.11.12.232651`` nightlies)."""
    match = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _optional(name: str, package: str, missing: str, advice: str) -> Check:
    """An installed-or-not check (by metadata: importing torch just to check it would be slow)."""
    try:
        return Check(name, "ok", importlib.metadata.version(package), required=False)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, "warn", f"not installed: {missing}", required=False, advice=advice)


def _javascript() -> Check:
    """yt-dlp needs a JavaScript runtime for YouTube: the deno wheel, else deno or node on PATH."""
    try:
        import deno

        path = deno.find_deno_bin()
        if path and os.access(path, os.X_OK):
            return Check("javascript", "ok", f"deno (wheel): {path}")
    except (ImportError, OSError, FileNotFoundError):
        pass
    for name in ("deno", "node"):
        found = shutil.which(name)
        if found:
            return Check("javascript", "ok", f"{name} on PATH: {found}")
    return Check("javascript", "fail", "no JavaScript runtime (deno wheel, deno or node)", advice="pip install deno")


def _pyav() -> Check:
    try:
        import av
    except ImportError as err:
        return Check("pyav", "fail", f"cannot import av: {err}", advice="pip install av")
    return Check("pyav", "ok", f"{av.__version__}")


def _cache() -> Path:
    from kinetics.fetch import cache_dir

    return cache_dir()


def _writable(name: str, path: Path) -> Check:
    """Can we create files there? Probes the directory, or the nearest existing parent, without creating it."""
    target = path.expanduser().absolute()
    existing = _existing_parent(target)
    if existing.exists() and not existing.is_dir():
        return Check(name, "fail", f"{existing} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".kinetics-doctor-"):
            pass
    except OSError as err:
        return Check(name, "fail", f"cannot write in {existing}: {err.strerror or err}", advice=f"choose a writable {name} or fix its permissions")
    note = "" if existing == target else f" (will be created under {existing})"
    return Check(name, "ok", f"{target} is writable{note}")


def _disk(where: Path, version: str | None, split: str | None, bytes_per_clip: int, *, required: bool) -> Check:
    """Room for the clips still to download; a hard failure only when a --root was named."""
    own = _corpus_clips_needed(where, split) if version is None else None
    version = version or "400"
    clips, basis = own if own is not None else _clips_needed(where, version, split)
    free = shutil.disk_usage(_existing_parent(where.expanduser().absolute())).free
    scope = f"{'this corpus' if own is not None else f'Kinetics-{version}'} {split or 'all splits'}"
    if clips is None:
        return Check("disk", "warn", f"{_gb(free)} free; cannot size {scope}: {basis}", required=False,
                     advice=f"kinetics manifests pull --version {version}")
    needed = clips * bytes_per_clip
    detail = f"{_gb(free)} free, ~{_gb(needed)} needed for {clips:,} clips of {scope} at ~{bytes_per_clip / 1e6:.1f} MB/clip ({basis})"
    if needed > free:
        return Check("disk", "fail", detail, required=required, advice="free some space, choose another --root, or download fewer clips (--split, --classes, --limit)")
    return Check("disk", "ok", detail)


def _clips_needed(root: Path, version: str, split: str | None) -> tuple[int | None, str]:
    """Clips still to download: manifest rows (cached, else the registry's counts) minus ok clips in the index."""
    import pyarrow.parquet as pq

    from kinetics.manifests.registry import Registry
    from kinetics.manifests.schema import normalise_split
    from kinetics.manifests.sources import manifest_dir

    entry = Registry.load().version(version)
    directory = manifest_dir(entry.version)
    served = entry.source(None).files
    wanted = [normalise_split(split)] if split else sorted(set(served) | {p.stem for p in directory.glob("*.parquet")})
    rows, unknown, used_registry = 0, [], False
    for name in wanted:
        cached = directory / f"{name}.parquet"
        if cached.is_file():
            rows += pq.ParquetFile(cached).metadata.num_rows
        elif name in served and served[name].rows is not None:
            rows, used_registry = rows + served[name].rows, True
        else:
            unknown.append(name)
    if unknown:
        return None, f"the size of {', '.join(unknown)} is unknown until its manifest is pulled"
    basis = "registry row counts" if used_registry else "cached manifest"
    return max(0, rows - _ok_clips(root, [normalise_split(split)] if split else None)), basis


def _corpus_clips_needed(root: Path, split: str | None) -> tuple[int, str] | None:
    """Clips of the root's own manifest (index/manifest) not yet ok, or None when it has none."""
    from kinetics.corpus.index import CorpusIndex
    from kinetics.manifests.schema import normalise_split

    index = CorpusIndex(root.expanduser())
    if not index.exists():
        return None
    targets = index.targets.latest(["clip_id", "split"])
    if targets.num_rows == 0:
        return None
    splits = [normalise_split(split)] if split else None
    rows = sum(1 for s in targets.column("split").to_pylist() if splits is None or s in splits)
    return max(0, rows - _ok_clips(root.expanduser(), splits)), "corpus manifest in index/manifest"


def _ok_clips(root: Path, splits: list[str] | None) -> int:
    from kinetics.corpus.index import CorpusIndex

    index = CorpusIndex(root)
    if not index.exists():
        return 0
    state = index.clip_state(columns=["status", "split"]).to_pylist()
    return sum(1 for row in state if row["status"] == "ok" and (splits is None or row["split"] in splits))


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"
