"""The CVDF mirror as a second source: the frozen Kinetics clips in tar.gz parts, into the same corpus.

CVDF (cvdfoundation/kinetics-dataset) publishes, per version and split, a list of part URLs at
``{base}/{version}/{split}/k{version}_{split}_path.txt`` (``700-2020`` is spelt ``700_2020``)
and, for Kinetics-400, ``{base}/400/replacement_for_corrupted_k400.tgz`` with ~1,400 clips that
replace corrupt ones. Each part holds clips already cut to their window, named
``{youtube_id}_{start:06d}_{end:06d}.mp4``, at their original size.

Parts are fetched one at a time (resumable: an interrupted part continues with a Range request;
complete only when its length matches), read as a stream (no path in an archive is ever used as
a path here), and the selected clips in them are normalised in parallel into the usual layout
and recorded with ``source="cvdf"``. After a part is done its member list is kept under
``{root}/index/cvdf/`` and the part is deleted, so a later run downloads a part again only if it
holds a clip that is still pending. Clips the mirror does not have get no record at all: the
same command with ``--source youtube`` fills them in afterwards (or the other way round). A part
(or the replacement archive) the mirror cannot serve is reported and skipped, not fatal: its clips
stay pending like any other clip the mirror lacks.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from kinetics.corpus.index import ClipRecord, utcnow
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import atomic_output, temp_path
from kinetics.corpus.reasons import Reason
from kinetics.download.classify import Failure
from kinetics.download.normalise import probe_header
from kinetics.download.worker import ClipTask, adopt, clip_record, encode_and_publish, raise_if_disk_full
from kinetics.download.youtube import FetchFailed
from kinetics.errors import CorruptClipError, KineticsError
from kinetics.fetch import FetchError, fetch
from kinetics.ffmpeg import find_ffmpeg

CVDF_BASE_URL = "https://s3.amazonaws.com/kinetics"
REPLACEMENT = "replacement_for_corrupted_k400.tgz"


@dataclass(frozen=True)
class CvdfMirror:
    """Where one version's parts live: CVDF's S3 bucket or a mirror with the same paths."""

    base_url: str = CVDF_BASE_URL
    version: str = "400"

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base url must be an http(s) URL, got {self.base_url!r}")

    @property
    def directory(self) -> str:
        return self.version.replace("-", "_")

    def list_url(self, split: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.directory}/{split}/k{self.directory}_{split}_path.txt"

    def part_url(self, split: str, name: str) -> str:
        """Part URLs follow the base URL: only the file name is taken from the published list."""
        return f"{self.base_url.rstrip('/')}/{self.directory}/{split}/{name}"

    def replacement_url(self) -> str | None:
        return f"{self.base_url.rstrip('/')}/400/{REPLACEMENT}" if self.version == "400" else None


@dataclass(frozen=True)
class ExtractedClip:
    """A clip read out of a part into a temporary file beside its final path."""

    task: ClipTask
    raw_path: str


def part_names(list_text: str) -> list[str]:
    """File names of the parts in a ``*_path.txt`` list (one URL per line)."""
    names = []
    for line in list_text.splitlines():
        name = PurePosixPath(line.strip().split("?", 1)[0]).name
        if name and name.endswith((".tar.gz", ".tgz", ".tar")) and name not in names:
            names.append(name)
    return names


def process_extracted(item: ExtractedClip) -> tuple[ClipRecord, ...]:
    """Worker: normalise one extracted clip, verify and publish it, and say how it went."""
    task, raw = item.task, Path(item.raw_path)
    layout = CorpusLayout(Path(task.config.root))
    final = layout.resolve(task.relpath)
    encoded = temp_path(final)
    started = utcnow()
    attempts = task.previous_attempts + 1
    try:
        probe = _probe(raw, task)
        result = encode_and_publish(raw, probe, encoded, final, task=task, ffmpeg=find_ffmpeg(task.config.fetch.ffmpeg_path))
        return (clip_record(task, started, attempts=attempts, probe=result, source="cvdf"),)
    except FetchFailed as failed:
        raise_if_disk_full(final.parent, failed.failure.message, cause=failed)
        return (clip_record(task, started, attempts=attempts, failure=failed.failure, source="cvdf"),)
    finally:
        raw.unlink(missing_ok=True)
        encoded.unlink(missing_ok=True)


def adopt_published(task: ClipTask) -> tuple[ClipRecord, ...]:
    """Worker: a clip already published under its final name is verified and recorded, not extracted again."""
    record = adopt(task, CorpusLayout(Path(task.config.root)).resolve(task.relpath))
    return () if record is None else (record,)


Run = Callable[[Callable, list], None]


def fetch_from_cvdf(tasks: list[ClipTask], *, mirror: CvdfMirror, layout: CorpusLayout, run: Run, flush: Callable[[], None],
                    note: Callable[[str], None]) -> set[str]:
    """Take what the mirror has for ``tasks``; ``run(fn, items)`` executes and records worker calls.

    Returns the ids of the clips the mirror did not provide (left pending for another source).
    """
    pending = {task.clip_id: task for task in tasks}
    published = [t for t in tasks if layout.resolve(t.relpath).is_file()]
    if published:
        run(adopt_published, published)
        flush()
        pending = {c: t for c, t in pending.items() if not layout.resolve(t.relpath).is_file()}
    state = layout.index_dir / "cvdf" / mirror.directory
    claimed: set[str] = set()  # clips the replacement archive provides: its copy wins over a part's
    replacement = mirror.replacement_url()
    if replacement and pending:
        claimed = _take_part(replacement, state / "replacement" / REPLACEMENT, pending, set(), layout, run, flush, note)
    for split in sorted({task.split for task in pending.values()}):
        listing = state / split / Path(mirror.list_url(split)).name
        try:
            names = part_names(fetch(mirror.list_url(split), listing).path.read_text())
        except KineticsError as err:
            raise KineticsError(f"cannot read the CVDF part list for {mirror.version}/{split}: {err}") from err
        for name in names:
            if not any(t.split == split for t in pending.values()):
                break
            _take_part(mirror.part_url(split, name), state / split / name, pending, claimed, layout, run, flush, note)
    return set(pending)


def _take_part(url: str, path: Path, pending: dict[str, ClipTask], claimed: set[str], layout: CorpusLayout,
               run: Run, flush: Callable[[], None], note: Callable[[str], None]) -> set[str]:
    """Fetch one part (unless its member list shows nothing pending), extract, normalise, record, delete it."""
    members_file = path.with_name(path.name + ".members.json")
    if members_file.is_file():
        known = set(json.loads(members_file.read_text()))
        if not (known & set(pending)) or not (known - claimed) & set(pending):
            return known
    for attempt in (1, 2):
        try:
            fetched = fetch(url, path)
        except FetchError as err:  # the mirror lacks it (404) or will not serve it: skip it, keep the run going
            note(f"CVDF part {url} could not be fetched ({err}); its clips stay pending for another source")
            return set()
        try:
            members, items = _extract(fetched.path, pending, claimed, layout)
            break
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            if isinstance(err, OSError):
                raise_if_disk_full(path.parent, str(err), cause=err, errno_=err.errno)
            path.unlink(missing_ok=True)
            if attempt == 2:
                note(f"CVDF part {url} is unreadable twice ({err}); its clips stay pending")
                return set()
    run(process_extracted, items)
    flush()
    _write_json(members_file, sorted(members))
    path.unlink(missing_ok=True)
    for item in items:
        pending.pop(item.task.clip_id, None)
    return members


def _extract(archive: Path, pending: dict[str, ClipTask], claimed: set[str], layout: CorpusLayout) -> tuple[set[str], list[ExtractedClip]]:
    """Stream the archive; copy the pending clips' bytes out beside their final paths."""
    by_youtube_id: dict[str, list[ClipTask]] = {}
    for task in pending.values():
        by_youtube_id.setdefault(task.youtube_id, []).append(task)
    members: set[str] = set()
    items: list[ExtractedClip] = []
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = PurePosixPath(member.name).name
                if not (member.isfile() and name.endswith(".mp4")):
                    continue
                task = _match(name[:-4], pending, by_youtube_id)
                members.add(task.clip_id if task else name[:-4])
                if task is None or task.clip_id in claimed:
                    continue
                final = layout.resolve(task.relpath)
                final.parent.mkdir(parents=True, exist_ok=True)
                raw = temp_path(final)
                with tar.extractfile(member) as source, open(raw, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                items.append(ExtractedClip(task, str(raw)))
    except BaseException:
        for item in items:
            Path(item.raw_path).unlink(missing_ok=True)
        raise
    return members, items


def _match(stem: str, pending: dict[str, ClipTask], by_youtube_id: dict[str, list[ClipTask]]) -> ClipTask | None:
    """A member named by clip id, or by a YouTube id that has exactly one pending clip."""
    if stem in pending:
        return pending[stem]
    candidates = by_youtube_id.get(stem[:11], [])
    return candidates[0] if len(candidates) == 1 else None


def _probe(raw: Path, task: ClipTask):
    try:
        probe = probe_header(raw)
    except CorruptClipError as err:
        raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT, f"CVDF copy: {err}")) from err
    if probe.duration_seconds < task.window_seconds - task.config.duration_tolerance_seconds:
        raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT,
                                  f"CVDF copy lasts {probe.duration_seconds:.3f} s, the window is {task.window_seconds:g} s"))
    return probe


def _write_json(path: Path, data: Iterable) -> None:
    with atomic_output(path) as temp:
        temp.write_text(json.dumps(list(data)))
