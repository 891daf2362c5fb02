"""A local process pool: the default executor, with nothing to install."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from kinetics.executors.base import Item, Outcome, Result, WorkerLostError


class LocalExecutor:
    """``jobs`` spawned worker processes (``jobs <= 1`` runs in this process, which is simplest to debug).

    At most ``2 * jobs`` items are in flight, so a 650,000-clip manifest is never materialised as
    futures. A worker that dies (OOM killer, segfault in a decoder) fails only the items that were
    in flight; the pool is rebuilt and the run goes on.
    """

    def __init__(self, jobs: int = 1):
        self.jobs = max(1, int(jobs))
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
                max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"), initializer=setup
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
        return self

    def __exit__(self, *exc) -> None:
        if exc and exc[0] is not None:
            self._terminate()
        self.close()

    def _terminate(self) -> None:
        """On Ctrl-C or an error, stop workers now rather than letting them finish their clips."""
        pool = self._pool
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        self._discard_pool()


_END = object()
