"""One real local Ray instance (2 CPUs) for the whole session, shut down at the end.

Executors built while it is connected use it as it is and leave it running; the CLI runs that
must start and stop a private instance of their own run in a subprocess.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]  # where executor_tasks lives: functions workers import by name


@pytest.fixture(scope="session")
def ray_instance():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'kinetics[ray]')")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        yield ray
        return
    # Ray workers do not inherit the driver's sys.path: they find executor_tasks through PYTHONPATH.
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), before) if p)
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = before
    try:
        yield ray
    finally:
        ray.shutdown()
