"""Progress inside clips: how many frame pairs the running flow jobs have computed.

TV-L1 takes minutes per clip on a CPU, so a bar that moves once per clip looks hung. Each worker
writes, after every batch of pairs, one tiny file ``{pid}`` in a per-run directory under the
corpus root (``index/.flow-progress/``; a file, so Ray workers on other nodes that share the root
report too): ``clip_id pairs_done``. A driver thread sums the clips still running with the
pairs of the clips finished this run, and shows ``pairs done/total`` beside the clip counts.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable

POLL_SECONDS = 1.0
PROGRESS_DIR = ".flow-progress"


def report_pairs(directory: str | None, clip_id: str, done: int) -> None:
    """Worker side: ``done`` pairs of ``clip_id`` are computed (never fails the job)."""
    if directory is None:
        return
    path = Path(directory) / str(os.getpid())
    temp = path.with_name(f".{path.name}.tmp")
    try:
        temp.write_text(f"{clip_id} {done}\n")
        os.replace(temp, path)
    except OSError:
        pass  # the driver ended the run (and removed the directory), or the disk is full: progress is optional


class PairProgress:
    """Driver side: sums the workers' reports every ``POLL_SECONDS`` and hands them to ``show(done, total)``."""

    def __init__(self, index_dir: Path, total: int | None, show: Callable[[int, int | None], None]):
        self.directory = index_dir / PROGRESS_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.total = total
        self._show = show
        self._finished: dict[str, int] = {}  # clip id -> pairs, clips finished this run
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kinetics-flow-pairs", daemon=True)

    def __enter__(self) -> "PairProgress":
        _remove_orphans(self.directory.parent)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.refresh()
        shutil.rmtree(self.directory, ignore_errors=True)
        try:
            self.directory.parent.rmdir()  # only when no other run uses it
        except OSError:
            pass

    def finished(self, clip_id: str, pairs: int) -> None:
        """A clip's record arrived: count its pairs (computed, or adopted) once."""
        with self._lock:
            self._finished[clip_id] = pairs

    def done(self) -> int:
        """Pairs of finished clips plus those of clips still running."""
        with self._lock:
            finished = dict(self._finished)
        running = 0
        for report in self.directory.glob("[0-9]*"):
            try:
                clip_id, count = report.read_text().split()
            except (OSError, ValueError):
                continue  # being replaced, or gone
            if clip_id not in finished:
                running += int(count)
        return sum(finished.values()) + running

    def refresh(self) -> None:
        self._show(self.done(), self.total)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.refresh()


def _remove_orphans(parent: Path) -> None:
    """Directories left by drivers that were killed (their pid is gone)."""
    for stale in parent.glob("*-*") if parent.is_dir() else ():
        owner = stale.name.split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
