"""Ray executor: the same ``map_unordered(fn, items, setup=...)`` as the local pool, over a cluster.

Work runs on a pool of ``jobs`` long-lived worker actors, the cluster-wide counterpart of the
local pool's worker processes: each runs ``setup`` once and keeps what it builds (a YoutubeDL, a
CUDA context) for the items that follow. Each reserves ``Resources(cpus, gpus)`` on its node, so
a node's CPUs (or GPUs) divided by that reservation is how many workers it hosts. Each worker has
one item at a time, so at most ``jobs`` items are in flight and a worker or node that dies loses
only the items it was running; they come back as outcomes with a :class:`WorkerLostError`, the
worker is replaced, and the run goes on. Results come back to the driver, which stays the single
writer of the corpus index.

With no ``address`` a private instance is started (``ray.init(address="local")``, sized to the
workers) and shut down at ``close()``; an ``address`` (``auto`` inside a cluster) joins an existing
cluster, which is left running. A connection the program already holds (``ray.is_initialized()``)
is used as it is. With a ``root``, every worker first proves that it sees the driver's corpus root
(``kinetics.executors.shared_root``). Workers' own output stays in Ray's log files
(``log_to_driver=False``), and Ray's notices (a worker died...) go to stderr: on stdout they
would break ``--json``.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from kinetics.errors import KineticsError, MissingDependencyError
from kinetics.executors.base import Item, Outcome, Resources, Result, WorkerLostError
from kinetics.executors.shared_root import NodeName, RootToken, SharedRootError, check_token

INSTALL_HINT = "pip install 'kinetics[ray]'"
PROBE_TIMEOUT_SECONDS = 60.0


@dataclass
class _Slot:
    """One worker actor and, once it has started, where it runs."""

    actor: Any
    node: NodeName | None = None
    pid: int | None = None

    def __str__(self) -> str:
        return f"worker pid {self.pid} on {self.node}" if self.node else "a worker that had not started"


class RayExecutor:
    """``jobs`` worker actors on a Ray cluster (a private local one when ``address`` is None).

    Args:
        resources: what each worker reserves on its node. ``gpus`` with ``optional_gpus`` is
            asked for only when the cluster has GPUs; workers without GPUs see none.
        root: the corpus root; each worker checks it sees the same files as the driver.
        start_timeout_seconds: how long to wait for a first worker to start before giving up
            (a cluster with no room for one).
    """

    def __init__(
        self,
        jobs: int = 1,
        *,
        address: str | None = None,
        resources: Resources = Resources(),
        root: str | os.PathLike | None = None,
        start_timeout_seconds: float = 300.0,
    ):
        self.jobs = max(1, int(jobs))
        self.address = address
        self.resources = resources
        self.root = None if root is None else str(Path(root).expanduser().absolute())
        self.start_timeout_seconds = start_timeout_seconds
        self._ray = import_ray()
        self._started = False
        self._owns_instance = False
        self._gpus = resources.gpus
        self._token: RootToken | None = None
        self._remote_worker: Any = None
        self._idle: deque[_Slot] = deque()
        self._starting: dict[Any, _Slot] = {}  # start() reference -> slot
        self._all: list[_Slot] = []
        self._failed_starts = 0

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (or start a private instance), check resources and the shared root. Idempotent."""
        if self._started:
            return
        self._started = True
        try:
            self._connect()
            self._gpus = self._check_resources()
            if self.root is not None:
                self._token = RootToken.write(self.root)
                if not self._owns_instance:  # a private instance is this machine: nothing to compare
                    self._probe_nodes()
        except BaseException:
            self.close()  # a private instance started for nothing is shut down
            raise

    def close(self) -> None:
        """Stop the workers, remove the root token, and shut down the instance if this executor started it."""
        ray = self._ray
        for slot in self._all:
            self._kill(slot)
        self._all.clear()
        self._idle.clear()
        self._starting.clear()
        if self._token is not None:
            self._token.remove()
            self._token = None
        if self._owns_instance and ray.is_initialized():
            ray.shutdown()
        self._owns_instance = False
        self._started = False

    def __enter__(self) -> "RayExecutor":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self) -> None:
        ray = self._ray
        _notices_to_stderr(ray)
        if ray.is_initialized():
            return
        if self.address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a private instance phones no one
            cpus = max(1, math.ceil(self.jobs * self.resources.cpus))
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            self._owns_instance = True
            return
        try:
            ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
            raise KineticsError(
                f"cannot connect to the Ray cluster at {self.address!r}: {err}. A cluster with token "
                "authentication needs RAY_AUTH_MODE=token and its token (docs/scaling.md)"
            ) from err

    def _check_resources(self) -> float:
        """The GPUs each worker will ask for; an error at once when no node can host one worker."""
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        cpus, gpus = self.resources.cpus, self.resources.gpus
        if gpus and self.resources.optional_gpus and not any(n["Resources"].get("GPU", 0) for n in nodes):
            gpus = 0.0
        if not any(n["Resources"].get("CPU", 0) >= cpus and n["Resources"].get("GPU", 0) >= gpus for n in nodes):
            largest = ", ".join(
                f"{n['NodeManagerAddress']}: {n['Resources'].get('CPU', 0):g} CPUs {n['Resources'].get('GPU', 0):g} GPUs"
                for n in nodes
            )
            raise KineticsError(
                f"no node of the Ray cluster can host a worker of {cpus:g} CPUs and {gpus:g} GPUs "
                f"(nodes: {largest or 'none alive'}); lower --cpus-per-task / --gpus-per-task"
            )
        return gpus

    def _probe_nodes(self) -> None:
        """One tiny task pinned to each alive node reads the root token back; every failure is named."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(check_token)
        refs = {}
        for node in (n for n in ray.nodes() if n.get("Alive")):
            name = NodeName(node["NodeManagerAddress"], node.get("NodeManagerHostname", "?"), node["NodeID"])
            strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
            refs[probe.options(num_cpus=0, scheduling_strategy=strategy, max_retries=0).remote(self._token)] = name
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=PROBE_TIMEOUT_SECONDS)
        problems = [f"node {refs[ref]} did not answer within {PROBE_TIMEOUT_SECONDS:g} s" for ref in late]
        for ref in ready:
            try:
                ray.get(ref)
            except Exception as err:  # the probe's own error names the node; anything else is reported as is
                cause = _cause(err)
                problems.append(str(cause) if isinstance(cause, SharedRootError) else f"node {refs[ref]}: {cause!r}")
        for ref in late:
            ray.cancel(ref, force=True)
        if problems:  # start() closes the executor, which removes the token
            raise SharedRootError("; ".join(problems))

    # -- work -------------------------------------------------------------------------------------
    def map_unordered(
        self,
        fn: Callable[[Item], Result],
        items: Iterable[Item],
        *,
        setup: Callable[[], Any] | None = None,
    ) -> Iterator[Outcome[Item, Result]]:
        """Run ``fn`` on every item on the workers, yielding outcomes as they finish."""
        self.start()
        setup_key = uuid.uuid4().hex  # setup runs once per worker and map_unordered call
        self._fill_pool()
        running: dict[Any, tuple[_Slot, Item]] = {}  # run() reference -> (worker, item)
        try:
            # fn and setup travel by value with each item: small (a function and its settings), and
            # faster than an object-store reference that every call must resolve
            yield from self._dispatch(lambda slot, item: slot.actor.run.remote(fn, item, setup_key, setup), items, running)
        finally:  # abandoned early (an error, Ctrl-C): workers still busy are stopped, not left holding items
            for slot, _ in running.values():
                self._all.remove(slot)
                self._kill(slot)

    def _dispatch(self, submit: Callable[[_Slot, Any], Any], items: Iterable, running: dict) -> Iterator[Outcome]:
        """Give each idle worker the next item; collect results as they come; replace dead workers."""
        from ray.exceptions import RayError, RayTaskError

        ray = self._ray
        pending = iter(items)
        exhausted = False
        waiting_since = time.monotonic()
        while True:
            while self._idle and not exhausted:
                item = next(pending, _END)
                if item is _END:
                    exhausted = True
                    break
                slot = self._idle.popleft()
                running[submit(slot, item)] = (slot, item)
            if exhausted and not running:
                return
            if running:
                waiting_since = time.monotonic()
            elif time.monotonic() - waiting_since > self.start_timeout_seconds:
                raise KineticsError(
                    f"no Ray worker of {self.resources.cpus:g} CPUs and {self._gpus:g} GPUs started within "
                    f"{self.start_timeout_seconds:g} s: is the cluster full?"
                )
            ready, _ = ray.wait([*running, *self._starting], num_returns=1, timeout=5.0)
            for ref in ready:
                if ref in self._starting:
                    self._started_worker(ref)
                    continue
                slot, item = running.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as err:  # fn raised: the worker is fine
                    self._idle.append(slot)
                    yield Outcome(item, error=_cause(err))
                except RayError as err:  # the worker (or its node) died with the item
                    self._replace(slot)
                    yield Outcome(item, error=WorkerLostError(f"{slot} died while running this item: {_first_line(err)}"))
                else:
                    self._idle.append(slot)
                    yield Outcome(item, result=result)

    def _fill_pool(self) -> None:
        if self._remote_worker is None:
            self._remote_worker = self._ray.remote(_Worker)
        while len(self._all) < self.jobs:
            self._launch()

    def _launch(self) -> None:
        actor = self._remote_worker.options(
            num_cpus=self.resources.cpus, num_gpus=self._gpus, max_restarts=0, max_task_retries=0,
        ).remote(hide_gpus=not self._gpus)
        slot = _Slot(actor)
        self._all.append(slot)
        self._starting[actor.start.remote(self._token)] = slot

    def _started_worker(self, ref) -> None:
        """A worker answered its start call: idle and ready, or a shared-root error for the whole run."""
        slot = self._starting.pop(ref)
        try:
            slot.node, slot.pid = self._ray.get(ref)
        except Exception as err:  # the start call raised, or the worker died before it answered
            cause = _cause(err)
            if isinstance(cause, SharedRootError):
                raise cause from None
            self._replace(slot, cause=cause)
            return
        self._failed_starts = 0
        self._idle.append(slot)

    def _replace(self, slot: _Slot, *, cause: BaseException | None = None) -> None:
        """Drop a dead worker and start another in its place (too many failed starts in a row: give up)."""
        self._all.remove(slot)
        self._kill(slot)
        if cause is not None:
            self._failed_starts += 1
            if self._failed_starts > 2 * self.jobs + 2:
                raise KineticsError(f"Ray workers keep failing to start; the last one said: {_first_line(cause)}")
        self._launch()

    def _kill(self, slot: _Slot) -> None:
        try:
            self._ray.kill(slot.actor)
        except Exception:  # already dead, or the connection is gone: nothing left to stop
            pass


class _Worker:
    """The worker actor: checks the root once, runs each ``setup`` once, then items one at a time."""

    def __init__(self, *, hide_gpus: bool):
        if hide_gpus:  # Ray leaves every GPU visible to a worker that reserved none
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        self._setups: set[str] = set()

    def start(self, token: RootToken | None) -> tuple[NodeName, int]:
        node = token.check() if token is not None else NodeName.here()
        return node, os.getpid()

    def run(self, fn: Callable, item: Any, setup_key: str, setup: Callable[[], Any] | None) -> Any:
        if setup is not None and setup_key not in self._setups:
            setup()
            self._setups.add(setup_key)
        return fn(item)


def import_ray():
    """The ``ray`` module, or a MissingDependencyError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise MissingDependencyError(f"--executor ray needs Ray, which is not installed ({err}): {INSTALL_HINT}") from err
    return ray


def _notices_to_stderr(ray) -> None:
    """Ray prints its driver notices ("a worker died...") on stdout, into ``--json`` output: send them to stderr."""
    module = getattr(getattr(ray, "_private", None), "worker", None)
    original = getattr(module, "print_to_stdstream", None)
    if original is None or getattr(original, "to_stderr", False):
        return

    def to_stderr(data: dict, ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr.to_stderr = True  # type: ignore[attr-defined]
    module.print_to_stdstream = to_stderr


def _cause(err: BaseException) -> BaseException:
    """The exception a remote call raised, without Ray's wrapper."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


_END = object()
