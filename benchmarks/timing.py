"""Clocks the benchmarks share: best-of-N wall time, and CPU time that counts child processes."""

from __future__ import annotations

import resource
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeat`` calls of ``fn`` in wall-clock seconds, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def cpu_seconds() -> float:
    """CPU of this process (all threads) and of its finished children (ffmpeg, pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
