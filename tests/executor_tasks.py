"""Work functions for the executor tests, local pool and Ray alike.

A module of its own, so that spawned worker processes and Ray workers import them by name
(``tests/`` is on the path: ``tests/conftest.py`` for the pool, ``PYTHONPATH`` for Ray workers).
"""

from __future__ import annotations

import os
import signal
import time

SETUP_RUNS: list[int] = []


def square(x: int) -> int:
    if x == 13:
        raise ValueError("unlucky")
    return x * x


def die_on_seven(x: int) -> int:
    if x == 7:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def timed(x: int) -> tuple[int, float, float]:
    """(pid, start, end): lets a test count how many items ran at once."""
    start = time.time()
    time.sleep(0.05)
    return os.getpid(), start, time.time()


def note_setup() -> None:
    SETUP_RUNS.append(os.getpid())


def setups_seen(_: int) -> tuple[int, int]:
    return os.getpid(), len(SETUP_RUNS)


def visible_gpus(_: int) -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def slow_setup() -> None:
    """A worker setup as slow as importing a large package (download workers take ~1.5 s)."""
    time.sleep(3.0)


def sleep_long(x: int) -> int:
    time.sleep(60)
    return x
