"""Where a run reports: ``metrics.jsonl`` (always), TensorBoard (when installed) and a progress bar.

Only rank 0 writes (``Logbook.disabled()`` elsewhere). Every record is one JSON object per line with
an ``event`` (``train``, ``val``, ``checkpoint``, ``summary``) and the step it belongs to, so
``pandas.read_json(path, lines=True)`` reads a run. The bar shows loss, clips per second and the
ETA of the remaining steps; it is drawn only on an interactive stderr unless asked for.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


class Logbook:
    """Appends metric records to ``directory/metrics.jsonl`` and mirrors scalars to TensorBoard."""

    def __init__(self, directory: Path | None, *, tensorboard: bool = True, progress: bool | None = None,
                 total_steps: int = 0, initial_step: int = 0, stream: IO[str] | None = None):
        self.directory = directory
        self._file = None
        self._tb = None
        self._bar = None
        self._stream = stream or sys.stderr
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._file = open(directory / METRICS_FILE, "a", encoding="utf-8")
        if tensorboard:
            self._tb = _tensorboard_writer(directory / TENSORBOARD_DIR)
        show = self._stream.isatty() if progress is None else progress
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=total_steps, initial=initial_step, unit="step", desc="train", file=self._stream,
                             dynamic_ncols=True)

    @classmethod
    def disabled(cls) -> Logbook:
        """A logbook that records nothing (ranks other than 0)."""
        return cls(None)

    @property
    def path(self) -> Path | None:
        return None if self.directory is None else self.directory / METRICS_FILE

    @property
    def tensorboard(self) -> bool:
        return self._tb is not None

    def write(self, event: str, step: int, values: dict[str, Any]) -> None:
        if self._file is None:
            return
        record = {"event": event, "step": step, "time": round(time.time(), 3), **values}
        self._file.write(json.dumps(record, default=_plain) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                    self._tb.add_scalar(f"{event}/{key}", value, step)

    def advance(self, steps: int, *, loss: float | None = None, clips_per_second: float | None = None) -> None:
        """Move the bar on by ``steps`` and show the latest loss and rate (tqdm adds the ETA)."""
        if self._bar is None:
            return
        shown = []
        if loss is not None:
            shown.append(f"loss={loss:.4f}")
        if clips_per_second is not None:
            shown.append(f"{clips_per_second:.2f} clips/s")
        self._bar.set_postfix_str(" ".join(shown), refresh=False)
        self._bar.update(steps)

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self._stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Logbook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _tensorboard_writer(directory: Path):
    """A SummaryWriter when the ``tensorboard`` package is installed, else None (it is optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(directory))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a ``metrics.jsonl`` file, in order."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
