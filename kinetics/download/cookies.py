"""One private directory per download run for the workers' cookie copies, removed when the run ends.

Each worker needs its own copy of the user's cookie jar (yt-dlp writes the jar back into the file
it read). Pool workers end without a chance to clean up, so the copies live in a directory the
driver creates and removes, whatever way the run ends; a directory left by a driver killed with
SIGKILL is removed by the next run (its name carries the driver's pid).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from kinetics.download.worker import WorkerConfig, close_workers
from kinetics.download.youtube import _COOKIE_PREFIX, _alive


@contextmanager
def run_cookie_dir(config: WorkerConfig) -> Iterator[WorkerConfig]:
    """``config`` with a fresh private cookie directory (unchanged without ``--cookies``)."""
    if not config.fetch.cookies:
        yield config
        return
    temp = Path(tempfile.gettempdir())
    _remove_orphans(temp)
    directory = tempfile.mkdtemp(prefix=f"{_COOKIE_PREFIX}{os.getpid()}-", dir=temp)  # mode 0700
    try:
        yield replace(config, fetch=replace(config.fetch, cookie_dir=directory))
    finally:
        close_workers()  # --jobs 1: this process's fetcher holds a copy
        shutil.rmtree(directory, ignore_errors=True)


def _remove_orphans(temp: Path) -> None:
    """Directories of runs whose driver is gone (SIGKILL), if they are ours."""
    if os.name != "posix":  # os.kill(pid, 0) kills on Windows
        return
    for stale in temp.glob(f"{_COOKIE_PREFIX}*"):
        owner = stale.name[len(_COOKIE_PREFIX):].split("-", 1)[0]
        try:
            if stale.is_dir() and owner.isdigit() and not _alive(int(owner)) and stale.stat().st_uid == os.getuid():
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass  # another run got there first
