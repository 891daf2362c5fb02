"""Safe, resumable extraction of the RAR and ZIP archives UCF-101 and HMDB-51 are published as.

* Every member name is checked before anything is written: absolute paths, drive letters, ``..``
  and NUL bytes refuse the whole archive (:class:`UnsafeArchiveError` names the member), and each
  destination is re-checked after resolving symlinks already on disk. Members are always written
  as regular files, never as links.
* Each file is streamed to a hidden temporary sibling and renamed into place only once its size
  and CRC have been checked (unrar checks RAR CRCs in test mode, ``zipfile`` checks ZIP CRCs on
  read), so a crash never leaves a half file under a final name.
* A file already present with the member's size is skipped, so an interrupted extraction resumes.

RAR is read with the ``unrar2-cffi`` wheel (RARLAB's unrar library built in), streaming each member
through unrar's data callback instead of holding it in memory.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Literal, get_args

from kinetics.corpus.layout import CorpusLayout
from kinetics.files import publish, temp_path
from kinetics.errors import KineticsError, MissingDependencyError

ArchiveFormat = Literal["rar", "zip"]


class ArchiveError(KineticsError):
    """An archive is corrupt or truncated; the message names the archive and the member."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would be written outside the destination."""


@dataclass(frozen=True)
class ArchiveMember:
    name: str  # as stored in the archive
    size_bytes: int
    is_dir: bool


@dataclass(frozen=True)
class ExtractionReport:
    archive: Path
    destination: Path
    extracted: int  # files written by this call
    skipped: int  # files already present with the right size
    bytes_written: int
    files: tuple[Path, ...]  # every file of the archive at its destination, extracted or skipped


def member_relpath(name: str, *, strip_components: int = 0) -> PurePosixPath | None:
    """Where a member goes, relative to the destination; None when stripping leaves nothing.

    Raises ValueError for a name that could leave the destination.
    """
    normalised = name.replace("\\", "/")
    if not normalised or "\x00" in normalised:
        raise ValueError("empty name or NUL byte")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        raise ValueError("absolute path")
    parts = [p for p in normalised.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError("'..' component")
    parts = parts[strip_components:]
    return PurePosixPath(*parts) if parts else None


def list_members(archive: str | os.PathLike, archive_format: ArchiveFormat) -> list[ArchiveMember]:
    """Every member's name, size and kind, read from the archive's headers only."""
    _check_format(archive_format)
    archive = Path(archive)
    if archive_format == "zip":
        with _open_zip(archive) as zf:
            return [ArchiveMember(i.filename, i.file_size, i.is_dir()) for i in zf.infolist()]
    members = []
    with _open_rar(archive) as rar:
        for header in rar.iterate_headers():
            members.append(_rar_member(header))
            header.skip()
    if not members:
        raise ArchiveError(f"{archive}: no members could be read (empty or truncated archive)")
    return members


def extract_archive(
    archive: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    archive_format: ArchiveFormat,
    strip_components: int = 0,
    on_file: Callable[[str], None] | None = None,
) -> ExtractionReport:
    """Extract every file of ``archive`` under ``destination`` (see the module docstring for the guarantees).

    ``strip_components`` drops that many leading directories from member names (as tar does);
    ``on_file`` is called with "ok" or "skipped" after each file, for progress reporting.
    """
    _check_format(archive_format)
    archive, destination = Path(archive), Path(destination)
    plan = _plan(archive, destination, list_members(archive, archive_format), strip_components)
    destination.mkdir(parents=True, exist_ok=True)
    run = _Extraction(archive, CorpusLayout(destination), plan, on_file)
    (_stream_zip if archive_format == "zip" else _stream_rar)(run)
    files = tuple(sorted(run.plan.values()))
    return ExtractionReport(archive, destination, run.extracted, run.skipped, run.bytes_written, files)


def _plan(archive: Path, destination: Path, members: list[ArchiveMember], strip_components: int) -> dict[str, Path]:
    """``{member name: final path}`` for every file member; refuses the archive if any name is unsafe."""
    root = CorpusLayout(destination).root
    plan: dict[str, Path] = {}
    taken: set[Path] = set()
    for member in members:
        try:
            relpath = member_relpath(member.name, strip_components=strip_components)
        except ValueError as err:
            raise UnsafeArchiveError(f"{archive}: refusing member {member.name!r} ({err}); nothing was extracted") from None
        if member.is_dir or relpath is None:
            continue
        final = root.joinpath(*relpath.parts)
        if final in taken:
            raise UnsafeArchiveError(f"{archive}: two members would both be written to {final}")
        taken.add(final)
        plan[member.name] = final
    return plan


class _Extraction:
    """One extraction in progress: where each member goes, and what has been done so far."""

    def __init__(self, archive: Path, layout: CorpusLayout, plan: dict[str, Path], on_file: Callable[[str], None] | None):
        self.archive, self.layout, self.plan, self.on_file = archive, layout, plan, on_file
        self.extracted = self.skipped = self.bytes_written = 0

    def target_for(self, member: ArchiveMember) -> Path | None:
        """The final path for ``member``, or None when it is a directory, stripped away or already there."""
        final = None if member.is_dir else self.plan.get(member.name)
        if final is None:
            return None
        if final.is_file() and final.stat().st_size == member.size_bytes:
            self._count("skipped")
            return None
        self.layout.resolve(final.relative_to(self.layout.root).as_posix())  # a symlinked directory must not lead out
        final.parent.mkdir(parents=True, exist_ok=True)
        return final

    def open(self, final: Path, member: ArchiveMember) -> _TempFile:
        return _TempFile(self, final, member)

    def done(self, member: ArchiveMember) -> None:
        self.bytes_written += member.size_bytes
        self._count("ok")

    def _count(self, outcome: str) -> None:
        if outcome == "ok":
            self.extracted += 1
        else:
            self.skipped += 1
        if self.on_file is not None:
            self.on_file(outcome)


class _TempFile:
    """A member being written to a hidden sibling of its final path; published only when complete and intact."""

    def __init__(self, run: _Extraction, final: Path, member: ArchiveMember):
        self.run, self.final, self.member = run, final, member
        self.temp = temp_path(final)
        self.error: OSError | None = None
        self.size_bytes = 0
        self._handle = None

    def __enter__(self) -> _TempFile:
        self._handle = open(self.temp, "wb")
        return self

    def write(self, chunk: bytes) -> None:
        if self.error is None:  # unrar's callback cannot raise: remember the first failure instead
            try:
                self._handle.write(chunk)
                self.size_bytes += len(chunk)
            except OSError as err:
                self.error = err

    def __exit__(self, exc_type, exc, tb) -> None:
        self._handle.close()
        problem = None
        if self.error is not None:
            problem = f"cannot write {self.final}: {self.error.strerror or self.error}"
        elif self.size_bytes != self.member.size_bytes:
            problem = f"member {self.member.name!r} gave {self.size_bytes} bytes where its header says {self.member.size_bytes}"
        if exc_type is None and problem is None:
            publish(self.temp, self.final)
            self.run.done(self.member)
            return
        self.temp.unlink(missing_ok=True)
        if exc_type is None:
            raise ArchiveError(f"{self.run.archive}: {problem}")


# -- ZIP -----------------------------------------------------------------------------------------
def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as err:
        raise ArchiveError(f"{archive}: not a readable ZIP archive ({err})") from err


def _stream_zip(run: _Extraction) -> None:
    with _open_zip(run.archive) as zf:
        for info in zf.infolist():
            member = ArchiveMember(info.filename, info.file_size, info.is_dir())
            final = run.target_for(member)
            if final is None:
                continue
            with run.open(final, member) as out:
                try:
                    with zf.open(info) as source:
                        while chunk := source.read(1 << 20):
                            out.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError) as err:  # CRC mismatch, truncation
                    raise ArchiveError(f"{run.archive}: member {member.name!r} is corrupt ({err})") from err


# -- RAR -----------------------------------------------------------------------------------------
def _unrar():
    try:
        from unrar.cffi import unrarlib
    except ImportError as err:
        raise MissingDependencyError("reading RAR archives needs the unrar2-cffi wheel: pip install 'unrar2-cffi>=0.4'") from err
    return unrarlib


def _open_rar(archive: Path):
    unrarlib = _unrar()
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such archive")
    try:
        return unrarlib.RarArchive.open_for_processing(archive)
    except unrarlib.BadRarFile as err:
        raise ArchiveError(f"{archive}: not a readable RAR archive (unrar error {err.code})") from err


def _rar_member(header) -> ArchiveMember:
    size = header.UnpSize + (header.UnpSizeHigh << 32)
    return ArchiveMember(header.FileNameW, size, bool(header.Flags & _unrar().FLAGS_RHDF_DIRECTORY))


def _stream_rar(run: _Extraction) -> None:
    unrarlib = _unrar()
    with _open_rar(run.archive) as rar:
        for header in rar.iterate_headers():
            member = _rar_member(header)
            final = run.target_for(member)
            if final is None:
                header.skip()
                continue
            with run.open(final, member) as out:
                try:
                    header.test(out.write)  # unrar decodes, calls back with each chunk, then checks the CRC
                except unrarlib.BadRarFile as err:
                    raise ArchiveError(f"{run.archive}: member {member.name!r} is corrupt or truncated (unrar error {err.code})") from err


def _check_format(archive_format: str) -> None:
    if archive_format not in get_args(ArchiveFormat):
        raise ValueError(f"archive_format must be one of {get_args(ArchiveFormat)}, got {archive_format!r}")
