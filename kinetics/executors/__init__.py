"""Run one function over many work items, on this machine or on a cluster, with the same code.

The unit of work is a plain picklable function of one item (a clip) that returns a picklable
result; it must catch its own expected failures and return them as results. What an executor adds
is only where it runs. The driver that consumes ``map_unordered`` is the single writer of the
corpus index for its run, so results from any node land in the index without contention.
"""

from __future__ import annotations

import os
from typing import Literal, get_args

from kinetics.executors.base import Executor, Outcome, Resources, WorkerLostError
from kinetics.executors.local import LocalExecutor

ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)


def make_executor(
    kind: str = "local", *, jobs: int = 1, address: str | None = None, resources: Resources | None = None,
    root: str | os.PathLike | None = None,
) -> Executor:
    """Build the executor named on the command line (``--executor local|ray``).

    ``resources`` and ``root`` matter to Ray only: what each worker reserves on its node, and the
    corpus root every worker must see (checked before any work).
    """
    if kind == "local":
        return LocalExecutor(jobs=jobs)
    if kind == "ray":
        from kinetics.executors.ray import RayExecutor  # optional extra; MissingDependencyError if absent

        return RayExecutor(jobs=jobs, address=address, resources=resources or Resources(), root=root)
    raise ValueError(f"executor must be one of {EXECUTORS}, got {kind!r}")


__all__ = ["EXECUTORS", "ExecutorName", "Executor", "LocalExecutor", "Outcome", "Resources", "WorkerLostError", "make_executor"]
