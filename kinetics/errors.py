"""Exceptions with enough context to act on: the file, line or clip they are about."""

from __future__ import annotations

from pathlib import Path


class KineticsError(Exception):
    """Base class for every error this package raises on purpose."""


class ManifestError(KineticsError):
    """A manifest file could not be read, or a row in it is malformed."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        self.file = None if file is None else str(file)
        self.line = line
        where = self.file or ""
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class CorpusError(KineticsError):
    """The corpus root or its index is unusable (unwritable, foreign, inconsistent)."""


class DownloadError(KineticsError):
    """A clip could not be fetched; `reason` is a stable `kinetics.corpus.reasons.Reason`."""

    def __init__(self, reason, message: str, *, clip_id: str | None = None):
        self.reason = reason
        self.clip_id = clip_id
        self.message = message
        prefix = f"{clip_id}: " if clip_id else ""
        super().__init__(f"{prefix}{getattr(reason, 'value', reason)}: {message}")


class CorruptClipError(KineticsError):
    """A video file on disk does not decode, or decodes to something other than expected."""

    def __init__(self, path: str | Path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class ChecksumError(KineticsError):
    """A downloaded file does not match the checksum the registry expects."""


class CheckpointError(KineticsError):
    """A model checkpoint cannot be fetched, read, or does not fit the model (names every bad key)."""


class MissingDependencyError(KineticsError):
    """An optional component was asked for but is not installed; the message says what to install."""
