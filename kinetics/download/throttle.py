"""Shared back-off: when YouTube says "slow down", every worker on the host slows down.

The state is one small JSON file per host under the corpus root,
``{root}/index/throttle/{host}.json``, rewritten atomically under an exclusive ``flock`` so that
all worker processes on a machine (and, later, all Ray workers on a node) see the same resume
time without talking to each other. Before each request a task waits until that time. A
throttled result doubles the delay (from ``base`` up to ``cap``) and pushes the resume time out;
a success resets the delay. A throttle reported by a request that started before the last one
was recorded belongs to the same wave and does not double the delay again, so N workers hitting
one 429 together back off once, not N times.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from kinetics.corpus.layout import CorpusLayout, safe_label
from kinetics.files import atomic_output
from kinetics.errors import CorpusError

THROTTLE_DIR = "throttle"


@dataclass(frozen=True)
class BackoffPolicy:
    """How long to pause after a throttle: ``base_seconds`` doubling up to ``cap_seconds``."""

    base_seconds: float = 60.0
    cap_seconds: float = 1800.0

    def __post_init__(self) -> None:
        if not (self.base_seconds > 0 and self.cap_seconds >= self.base_seconds):
            raise ValueError(
                f"back-off needs 0 < base <= cap, got base_seconds={self.base_seconds}, cap_seconds={self.cap_seconds}"
            )

    def next_delay(self, previous_seconds: float) -> float:
        return min(self.cap_seconds, max(self.base_seconds, 2 * previous_seconds))


@dataclass(frozen=True)
class ThrottleState:
    """What the host's workers agree on. Times are Unix epoch seconds (shared across processes)."""

    resume_at: float = 0.0
    delay_seconds: float = 0.0
    events: int = 0  # throttles recorded since the file was created
    waves: int = 0  # of which started a new (doubled) delay
    updated_at: float = 0.0
    message: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> "ThrottleState":
        try:
            data = json.loads(path.read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except FileNotFoundError:
            return cls()
        except (ValueError, TypeError):  # a foreign or damaged file: start afresh rather than stall
            return cls()


class SharedThrottle:
    """The back-off state of one host, stored under a corpus root."""

    def __init__(self, root: str | os.PathLike, policy: BackoffPolicy, *, host: str | None = None):
        self.policy = policy
        self.directory = CorpusLayout(Path(root)).index_dir / THROTTLE_DIR
        name = safe_label(host or socket.gethostname())
        self.path = self.directory / f"{name}.json"
        self._lock_path = self.directory / f".{name}.lock"

    def state(self) -> ThrottleState:
        return ThrottleState.from_file(self.path)

    def wait(self, *, sleep: Callable[[float], None] = time.sleep, poll_seconds: float = 1.0) -> float:
        """Block until the shared resume time (re-read while waiting: others may extend it).

        One wait never exceeds the policy's cap: a resume time further out than any back-off could
        set (a file from a machine with a wrong clock, or edited by hand) would otherwise hang the
        run silently.
        """
        waited = 0.0
        while True:
            remaining = min(self.state().resume_at - time.time(), self.policy.cap_seconds - waited)
            if remaining <= 0:
                return waited
            step = min(remaining, poll_seconds)
            sleep(step)
            waited += step

    def pending_wait(self) -> tuple[float, ThrottleState]:
        """(seconds a worker would wait now, capped as :meth:`wait` caps it; the state that says so)."""
        state = self.state()
        return max(0.0, min(state.resume_at - time.time(), self.policy.cap_seconds)), state

    def report_throttled(self, *, request_started_at: float, message: str | None = None) -> ThrottleState:
        """Record a throttle seen by a request that started at ``request_started_at`` (epoch s)."""
        with self._locked():
            state = self.state()
            now = time.time()
            same_wave = request_started_at < state.updated_at and state.resume_at > request_started_at
            delay = state.delay_seconds if same_wave and state.delay_seconds else self.policy.next_delay(state.delay_seconds)
            new = ThrottleState(
                resume_at=max(state.resume_at, now + delay),
                delay_seconds=delay,
                events=state.events + 1,
                waves=state.waves + (0 if same_wave else 1),
                updated_at=now,
                message=message,
            )
            self._write(new)
            return new

    def report_success(self, *, request_started_at: float) -> None:
        """A request that started after the last throttle went through: the next one starts from ``base``."""
        state = self.state()
        if state.delay_seconds == 0 or request_started_at < state.updated_at:
            return
        with self._locked():
            state = self.state()
            if state.delay_seconds and request_started_at >= state.updated_at:
                self._write(replace(state, delay_seconds=0.0))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self._lock_path, "a")
        except OSError as err:
            raise CorpusError(f"cannot write back-off state in {self.directory}: {err.strerror or err}") from err
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, state: ThrottleState) -> None:
        try:
            with atomic_output(self.path) as temp:
                temp.write_text(json.dumps(asdict(state), indent=1))
        except OSError as err:
            raise CorpusError(f"cannot write back-off state {self.path}: {err.strerror or err}") from err
