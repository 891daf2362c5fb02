"""Resumable, atomic, verified HTTP downloads (manifests, archives, mirror parts, checkpoints), and
the cache they land in.

A transfer writes to a hidden ``.<name>.part`` beside its destination. When the connection drops,
the part stays and the next attempt (in this call or a later one) asks only for the rest with an
HTTP ``Range`` request, guarded by ``If-Range`` so a file changed on the server restarts from
zero. Only a complete file whose size and sha256 (when one is expected) check out is renamed to
its final name: a cache never holds half a file or one that failed its checksum.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kinetics.files import fsync_dir
from kinetics.errors import ChecksumError, KineticsError

CHUNK_BYTES = 1 << 16
CACHE_ENV = "KINETICS_CACHE"
_TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


class FetchError(KineticsError):
    """A file could not be downloaded (HTTP error, network failure after retries, bad URL)."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    url: str
    bytes: int
    sha256: str
    resumed_from_bytes: int  # bytes already on disk when this call started (0: a fresh download)


def cache_dir() -> Path:
    """``$KINETICS_CACHE``, else ``~/.cache/kinetics``: manifests, checkpoints and archives live under it."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "kinetics"


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def part_path(dest: Path) -> Path:
    """Where an unfinished download of ``dest`` is kept (deterministic, so a later call can resume it)."""
    return dest.parent / f".{dest.name}.part"


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    attempts: int = 3,
    timeout_seconds: float = 60.0,
    retry_pause_seconds: float = 1.0,
) -> Fetched:
    """Download ``url`` to ``dest`` atomically, resuming a previous partial download if there is one.

    Raises FetchError for HTTP/network failures (after ``attempts`` tries for transient ones) and
    ChecksumError when the complete file does not match ``sha256``; in both cases ``dest`` is
    left as it was.
    """
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"only http(s) URLs can be fetched, got {url!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    with exclusive(part):
        resumed_from = part.stat().st_size if part.exists() else 0
        for attempt in range(1, max(1, attempts) + 1):
            try:
                _transfer(url, part, timeout_seconds)
                break
            except _Transient as err:
                if attempt >= attempts:
                    raise FetchError(f"{url}: {err} (gave up after {attempts} attempts; rerun to resume from {part.stat().st_size if part.exists() else 0} bytes)") from None
                time.sleep(retry_pause_seconds * attempt)
        digest = sha256_of(part)
        if sha256 and digest != sha256.lower():
            part.unlink(missing_ok=True)
            _meta_path(part).unlink(missing_ok=True)
            raise ChecksumError(
                f"{url}: sha256 {digest} does not match the expected {sha256}; the download was discarded "
                f"and {dest} was left as it was (a changed upstream file or a bad mirror)"
            )
        size = part.stat().st_size
        with open(part, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(part, dest)
        _meta_path(part).unlink(missing_ok=True)
        fsync_dir(dest.parent)
        return Fetched(dest, url, size, digest, resumed_from)


@contextlib.contextmanager
def exclusive(part: Path):
    """Hold ``part``'s lock file (``.<name>.part.lock``) while transferring: a second process fetching
    the same file (two ``manifests pull`` runs) waits for the first instead of writing into the same
    part file. The holder deletes the lock file when done, so nothing is left beside the download;
    a waiter that then holds a deleted file's lock tries again. Advisory (flock), so a crash needs
    no cleanup; not available on Windows."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock = part.with_name(part.name + ".lock")
    while True:
        handle = open(lock, "ab")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # the previous holder deleted this file: lock the new one
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


class _Transient(Exception):
    """A failure worth another attempt (connection dropped, timeout, 5xx, 429)."""


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _transfer(url: str, part: Path, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    validator = _read_validator(part) if have else None
    headers = {"User-Agent": "kinetics (+https://github.com/)", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:
            if _range_total(err.headers.get("Content-Range")) == have:
                return  # the part was already complete
            part.unlink(missing_ok=True)
            raise _Transient("server refused to resume; starting again") from None
        if err.code in _TRANSIENT_HTTP:
            raise _Transient(f"HTTP {err.code} {err.reason}") from None
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise _Transient(f"{getattr(err, 'reason', err)}") from None
    with response:
        if response.status == 206:
            start = _range_start(response.headers.get("Content-Range"))
            if start != have:
                part.unlink(missing_ok=True)
                raise _Transient(f"server resumed at byte {start}, expected {have}; starting again")
            mode, expected_total = "ab", _range_total(response.headers.get("Content-Range"))
        else:  # 200: the whole file (first request, no Range support, or If-Range saw a change)
            mode, have = "wb", 0
            length = response.headers.get("Content-Length")
            expected_total = int(length) if length and length.isdigit() else None
        _write_validator(part, response.headers, replace=(mode == "wb"))
        try:
            with open(part, mode) as out:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
        except (OSError, http.client.HTTPException) as err:
            raise _Transient(f"connection lost: {err}") from None
    size = part.stat().st_size
    if expected_total is not None and size < expected_total:
        raise _Transient(f"connection closed after {size} of {expected_total} bytes")


def _range_start(header: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", header or "")
    return int(match.group(1)) if match else None


def _range_total(header: str | None) -> int | None:
    match = re.search(r"/(\d+)$", header or "")
    return int(match.group(1)) if match else None


def _read_validator(part: Path) -> str | None:
    try:
        return json.loads(_meta_path(part).read_text()).get("validator")
    except (OSError, ValueError):
        return None


def _write_validator(part: Path, headers, *, replace: bool) -> None:
    """Remember the ETag (or Last-Modified) so a resume can tell whether the file changed upstream."""
    validator = headers.get("ETag") or headers.get("Last-Modified")
    meta = _meta_path(part)
    if replace:
        meta.unlink(missing_ok=True)
    if validator and not meta.exists():
        meta.write_text(json.dumps({"validator": validator}))
