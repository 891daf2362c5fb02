"""A local process pool: the default executor, with nothing to install.

Workers die with their driver, however it dies: each sets ``PR_SET_PDEATHSIG`` (Linux) and
watches its parent's pid (everywhere), so a ``kill -9`` of the driver does not leave workers
computing and publishing for minutes. While the pool is open, SIGTERM in the driver raises
``Terminated`` (a KeyboardInterrupt), so ``kill`` flushes the index as Ctrl-C does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from kinetics.executors.base import Item, Outcome, Result, WorkerLostError
from kinetics.executors.main_guard import check_main_guard


class LocalExecutor:
    """``jobs`` spawned worker processes (``jobs <= 1`` runs in this process, which is simplest to debug).

    At most ``2 * jobs`` items are in flight, so a 650,000-clip manifest is never materialised as
    futures. A worker that dies (OOM killer, segfault in a decoder) fails only the items that were
    in flight; the pool is rebuilt and the run goes on.
    """

    def __init__(self, jobs: int = 1):
        self.jobs = max(1, int(jobs))
        if self.jobs > 1:  # spawned workers re-import the main script: refuse an unguarded one now
            check_main_guard("spawn")
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(
        self,
        fn: Callable[[Item], Result],
        items: Iterable[Item],
        *,
        setup: Callable[[], Any] | None = None,
    ) -> Iterator[Outcome[Item, Result]]:
        if self.jobs == 1:
            yield from self._inline(fn, items, setup)
            return
        pending = iter(items)
        in_flight: dict[Future, tuple[Item, ProcessPoolExecutor]] = {}  # each future with the pool it runs on
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < 2 * self.jobs:
                item = next(pending, _END)
                if item is _END:
                    exhausted = True
                    break
                future = self._submit(fn, item, setup)
                in_flight[future] = (item, self._pool)
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                item, pool = in_flight.pop(future)
                try:
                    yield Outcome(item, result=future.result())
                except BrokenProcessPool as err:
                    if pool is self._pool:  # a late failure of a pool already replaced must not stop its successor
                        self._discard_pool()
                    lost = WorkerLostError(f"a worker process died while running this item ({err})")
                    yield Outcome(item, error=lost)
                except Exception as err:  # the task raised: report it against its item
                    yield Outcome(item, error=err)

    def _inline(self, fn, items, setup) -> Iterator[Outcome]:
        if setup is not None:
            setup()
        for item in items:
            try:
                yield Outcome(item, result=fn(item))
            except Exception as err:
                yield Outcome(item, error=err)

    def _submit(self, fn, item, setup) -> Future:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=start_worker, initargs=(setup,),
            )
        try:
            return self._pool.submit(fn, item)
        except BrokenProcessPool:
            self._discard_pool()
            return self._submit(fn, item, setup)

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "LocalExecutor":
        self._previous_sigterm = _raise_on_sigterm()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc and exc[0] is not None:
                self._terminate()
            self.close()
        finally:
            if getattr(self, "_previous_sigterm", None) is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None

    def _terminate(self) -> None:
        """On Ctrl-C or an error, stop workers now rather than letting them finish their clips.

        A worker's own children (yt-dlp's ffmpeg, ours) go first: killed alone, the worker would leave
        them writing partial files, on a full disk too, after the run has stopped. Once this returns,
        nothing of the pool writes any more, so the caller may clean up what it left.
        """
        pool = self._pool
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            _kill_tree(process.pid)
        for process in processes:
            process.join(timeout=5)
        self._discard_pool()


def _kill_tree(pid: int | None) -> None:
    """SIGKILL ``pid`` and every process below it: stopped first, so it cannot start more meanwhile."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        return
    for victim in [*_descendants(pid), pid]:
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents before their children (from Linux's /proc; none elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        names = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    for name in names:
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
            parent = int(stat[stat.rindex(b")") + 2:].split()[1])  # "pid (comm) state ppid ..."
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


_END = object()


class Terminated(KeyboardInterrupt):
    """The driver got SIGTERM: unwound like Ctrl-C, so what finished is recorded before it exits."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated(f"terminated by signal {signum}")


def _raise_on_sigterm():
    """Install the SIGTERM handler in the main thread (signals can only be handled there); return the old one."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):  # the application has its own: leave it
        return None
    signal.signal(signal.SIGTERM, _on_sigterm)
    return previous


def start_worker(setup: Callable[[], Any] | None = None, *, poll_seconds: float = 0.5) -> None:
    """Pool initializer: tie this worker's life to the driver's, then run the caller's ``setup``."""
    parent = multiprocessing.parent_process()
    if parent is not None:  # a pool worker, not the driver running tasks inline
        die_with_parent(parent.pid, poll_seconds=poll_seconds)
    if setup is not None:
        setup()


def die_with_parent(parent_pid: int, *, poll_seconds: float = 0.5) -> None:
    """End this process when ``parent_pid`` does: at once via PR_SET_PDEATHSIG on Linux, and by a
    watchdog thread on every platform (and in case the parent died before the first could be set)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != parent_pid:  # the driver died while this worker was starting
        os._exit(70)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(70)  # a task in progress leaves only temporary files, removed by the next run

    threading.Thread(target=watch, name="kinetics-parent-watch", daemon=True).start()
