"""Find the ffmpeg binary and run it with argument lists (never shell strings).

Resolution order: an explicit path, the ``KINETICS_FFMPEG`` environment variable, ``ffmpeg`` on
PATH, then the binary shipped in the ``imageio-ffmpeg`` wheel, so a fresh machine works with
nothing installed system-wide. There is no ffprobe in that wheel: probing is done with PyAV.

Failure handling depends on ffmpeg >= ``MIN_VERSION`` (older ones exit 1 on a full disk instead of
AVERROR(ENOSPC), and report a stalled input differently), so an older ffmpeg on PATH (Debian 12's
5.1, say) is passed over for the bundled one, and an older one named explicitly is an error.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kinetics.errors import KineticsError, MissingDependencyError

ENV_VAR = "KINETICS_FFMPEG"
MIN_VERSION = (7, 0)
_RELEASE = re.compile(r"n?(\d+)\.(\d+)")


@dataclass(frozen=True)
class FFmpeg:
    """A resolved ffmpeg binary and where it came from (``setting``, ``env``, ``path``, ``imageio``)."""

    path: str
    source: str

    skipped: str | None = None  # an older ffmpeg passed over on the way here, and why

    @functools.cached_property
    def version(self) -> str:
        return _version_of(self.path)

    @property
    def release(self) -> tuple[int, int] | None:
        """``(major, minor)``, or None for a build that does not say (a git snapshot: ``N-12345-g...``)."""
        return parse_release(self.version)

    @property
    def too_old(self) -> bool:
        return self.release is not None and self.release < MIN_VERSION


def parse_release(version: str) -> tuple[int, int] | None:
    """``5.1.6-0+deb12u1`` -> (5, 1); ``n9.0.2-17-g2a5`` -> (9, 0); ``N-117-gabc`` (git) or ``unknown`` -> None."""
    match = _RELEASE.match(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


@functools.lru_cache(maxsize=16)
def _version_of(path: str) -> str:
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"ffmpeg version (\S+)", out.stdout)
    return match.group(1) if match else "unknown"


def _minimum() -> str:
    return ".".join(map(str, MIN_VERSION))


def find_ffmpeg(explicit: str | os.PathLike | None = None) -> FFmpeg:
    """Resolve the ffmpeg binary; raise MissingDependencyError naming every place looked at.

    One named explicitly (argument or ``$KINETICS_FFMPEG``) that is older than ``MIN_VERSION`` is an
    error; one on PATH that is older is skipped in favour of the bundled binary.
    """
    if explicit:
        return _recent(FFmpeg(_checked(explicit, "setting"), "setting"), "the ffmpeg setting")
    if os.environ.get(ENV_VAR):
        return _recent(FFmpeg(_checked(os.environ[ENV_VAR], f"${ENV_VAR}"), "env"), f"${ENV_VAR}")
    on_path = shutil.which("ffmpeg")
    skipped = None
    if on_path:
        found = FFmpeg(on_path, "path")
        if not found.too_old:
            return found
        skipped = f"{on_path} is ffmpeg {found.version}, older than {_minimum()}"
    try:
        import imageio_ffmpeg

        return FFmpeg(imageio_ffmpeg.get_ffmpeg_exe(), "imageio", skipped=skipped)
    except Exception as err:  # imageio-ffmpeg raises RuntimeError when its binary is absent
        old = f"; {skipped}" if skipped else ""
        raise MissingDependencyError(
            f"no ffmpeg >= {_minimum()} found{old}: set {ENV_VAR}, put a recent ffmpeg on PATH, "
            f"or `pip install imageio-ffmpeg` ({err})"
        ) from err


def _recent(ffmpeg: FFmpeg, what: str) -> FFmpeg:
    if ffmpeg.too_old:
        raise MissingDependencyError(
            f"{what} names {ffmpeg.path}, ffmpeg {ffmpeg.version}: kinetics needs ffmpeg >= {_minimum()} "
            f"(older ones misreport a full disk and stalled downloads); unset it to use the bundled imageio-ffmpeg binary"
        )
    return ffmpeg


def _checked(candidate: str | os.PathLike, what: str) -> str:
    path = shutil.which(str(candidate)) or str(candidate)
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise MissingDependencyError(f"ffmpeg from {what} is not an executable file: {candidate}")
    return path


class FFmpegError(KineticsError):
    """ffmpeg exited non-zero; carries the tail of its stderr."""

    def __init__(self, argv: list[str], returncode: int, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        super().__init__(f"ffmpeg exited with code {returncode}: {tail}")


def run_ffmpeg(args: list[str], *, ffmpeg: FFmpeg | None = None, timeout: float | None = None) -> str:
    """Run ffmpeg with ``args`` (no binary name) and return its stderr; raise FFmpegError on failure."""
    binary = ffmpeg or find_ffmpeg()
    argv = [binary.path, "-hide_banner", "-nostdin", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout, check=False)
    if proc.returncode != 0:
        raise FFmpegError(argv, proc.returncode, proc.stderr)
    return proc.stderr
