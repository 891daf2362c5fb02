"""Progress for long jobs: clips done, ok / missing / failed, rate and ETA.

One reporter serves download, flow, audit and feature extraction. It draws a tqdm bar on an
interactive stderr and stays silent otherwise (quiet by default when output is piped or logged);
``json_lines`` writes machine-readable snapshots instead.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import IO

OUTCOMES = ("ok", "missing", "failed", "skipped")


@dataclass
class ProgressCounts:
    total: int
    ok: int = 0
    missing: int = 0
    failed: int = 0
    skipped: int = 0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.ok + self.missing + self.failed + self.skipped

    @property
    def elapsed_seconds(self) -> float:
        return time.monotonic() - self.started_at

    @property
    def per_minute(self) -> float:
        """Rate of work actually done (skipped items cost nothing and would flatter the ETA)."""
        worked = self.done - self.skipped
        return 60.0 * worked / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        rate = self.per_minute
        return None if rate <= 0 else 60.0 * remaining / rate

    def snapshot(self) -> dict:
        data = asdict(self)
        data.pop("started_at")
        data.update(
            done=self.done,
            elapsed_seconds=round(self.elapsed_seconds, 3),
            per_minute=round(self.per_minute, 2),
            eta_seconds=None if self.eta_seconds is None else round(self.eta_seconds, 1),
        )
        return data


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Counts outcomes and shows them; use as a context manager around the work loop."""

    def __init__(
        self,
        total: int,
        *,
        description: str = "clips",
        unit: str = "clip",
        show: bool | None = None,
        json_lines: IO[str] | None = None,
        json_interval_seconds: float = 5.0,
        stream: IO[str] | None = None,
    ):
        self.counts = ProgressCounts(total=total)
        self.unit = unit
        self._work = ""  # progress inside items ("pairs 120/4,800"), shown beside the counts
        self._lock = threading.Lock()  # work() is called from a polling thread
        self._stream = stream or sys.stderr
        self._json = json_lines
        self._json_interval = json_interval_seconds
        self._last_json = 0.0
        show = self._stream.isatty() if show is None else show
        self._bar = None
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit=unit, file=self._stream, dynamic_ncols=True)

    def update(self, outcome: str, n: int = 1) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        with self._lock:
            setattr(self.counts, outcome, getattr(self.counts, outcome) + n)
            if self._bar is not None:
                self._bar.set_postfix_str(self._postfix(), refresh=False)
                self._bar.update(n)
        now = time.monotonic()
        if self._json is not None and (now - self._last_json >= self._json_interval or self.counts.done == self.counts.total):
            self._last_json = now
            self._json.write(json.dumps({"event": "progress", **self.counts.snapshot()}) + "\n")
            self._json.flush()

    def work(self, done: int, total: int | None, unit: str) -> None:
        """Progress inside the items (e.g. flow's frame pairs, while one clip takes minutes)."""
        with self._lock:
            self._work = f"{unit}s {done:,}/{total:,}" if total else f"{unit}s {done:,}"
            if self._bar is not None:
                self._bar.set_postfix_str(self._postfix(), refresh=True)
            if self._json is not None:
                self._json.write(json.dumps({"event": "work", "unit": unit, "done": done, "total": total}) + "\n")
                self._json.flush()

    def _postfix(self) -> str:
        c = self.counts
        work = f"{self._work} " if self._work else ""
        return (f"{work}ok={c.ok} missing={c.missing} failed={c.failed} skipped={c.skipped} "
                f"{c.per_minute:.1f} {self.unit}s/min ETA {format_duration(c.eta_seconds)}")

    @property
    def shown(self) -> bool:
        """Whether notes reach the user (a bar or JSON lines); callers log them otherwise."""
        return self._bar is not None or self._json is not None

    def note(self, message: str) -> None:
        """A line for the user that does not break the bar (back-off notices and the like)."""
        if self._bar is not None:
            self._bar.write(message, file=self._stream)
        elif self._json is not None:
            self._json.write(json.dumps({"event": "note", "message": message}) + "\n")
            self._json.flush()

    def warn(self, message: str) -> None:
        """A line the user must see even without a bar (a run that waits, a source that lacks a part)."""
        if self.shown:
            self.note(message)
        else:
            self._stream.write(f"kinetics: {message}\n")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
