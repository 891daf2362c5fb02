"""Find the ffmpeg binary and run it with argument lists (never shell strings).

Resolution order: an explicit path, the ``KINETICS_FFMPEG`` environment variable, ``ffmpeg`` on
PATH, then the binary shipped in the ``imageio-ffmpeg`` wheel, so a fresh machine works with
nothing installed system-wide. There is no ffprobe in that wheel: probing is done with PyAV.
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


@dataclass(frozen=True)
class FFmpeg:
    """A resolved ffmpeg binary and where it came from (``setting``, ``env``, ``path``, ``imageio``)."""

    path: str
    source: str

    @functools.cached_property
    def version(self) -> str:
        out = subprocess.run([self.path, "-version"], capture_output=True, text=True, check=False)
        match = re.search(r"ffmpeg version (\S+)", out.stdout)
        return match.group(1) if match else "unknown"


def find_ffmpeg(explicit: str | os.PathLike | None = None) -> FFmpeg:
    """Resolve the ffmpeg binary; raise MissingDependencyError naming every place looked at."""
    if explicit:
        return FFmpeg(_checked(explicit, "setting"), "setting")
    if os.environ.get(ENV_VAR):
        return FFmpeg(_checked(os.environ[ENV_VAR], f"${ENV_VAR}"), "env")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return FFmpeg(on_path, "path")
    try:
        import imageio_ffmpeg

        return FFmpeg(imageio_ffmpeg.get_ffmpeg_exe(), "imageio")
    except Exception as err:  # imageio-ffmpeg raises RuntimeError when its binary is absent
        raise MissingDependencyError(
            f"no ffmpeg found: set {ENV_VAR}, put ffmpeg on PATH, or `pip install imageio-ffmpeg` ({err})"
        ) from err


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
