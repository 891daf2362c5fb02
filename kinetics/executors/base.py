"""The executor interface shared by the local pool and Ray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, Protocol, TypeVar

from kinetics.errors import KineticsError

Item = TypeVar("Item")
Result = TypeVar("Result")


class WorkerLostError(KineticsError):
    """The worker process running an item died (killed, out of memory, its node lost).

    Not the item's fault: drivers leave such items unrecorded (pending), so a plain re-run
    picks them up.
    """


@dataclass(frozen=True)
class Resources:
    """What one task needs: download tasks are network-bound, flow tasks CPU- or GPU-bound."""

    cpus: float = 1.0
    gpus: float = 0.0
    optional_gpus: bool = False  # ask for ``gpus`` only where the cluster has GPUs (else run on CPUs)

    def __post_init__(self) -> None:
        if not (self.cpus >= 0 and self.gpus >= 0 and self.cpus + self.gpus > 0):
            raise ValueError(f"a task needs some CPUs or GPUs (>= 0 each), got cpus={self.cpus:g}, gpus={self.gpus:g}")


@dataclass(frozen=True)
class Outcome(Generic[Item, Result]):
    """What became of one item: its result, or the error that escaped the task (worker died...)."""

    item: Item
    result: Result | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    jobs: int

    def map_unordered(
        self,
        fn: Callable[[Item], Result],
        items: Iterable[Item],
        *,
        setup: Callable[[], Any] | None = None,
    ) -> Iterator[Outcome[Item, Result]]:
        """Run ``fn`` on every item, yielding outcomes as they finish. ``setup`` runs once per worker."""

    def close(self) -> None: ...

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc) -> None: ...
