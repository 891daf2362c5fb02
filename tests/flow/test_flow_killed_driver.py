"""Workers die with their driver: ``kinetics flow --jobs 2`` killed with SIGKILL or SIGTERM, and a bare
LocalExecutor driver killed while its workers are still starting. SIGTERM flushes the index as Ctrl-C does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from numbered_media import add_clip

from kinetics.corpus.index import CorpusIndex

REPO = Path(__file__).parents[2]
QUICK = ["quickquick1_000000_000010", "quickquick2_000000_000010"]
SLOW = ["slowslowslo_000000_000010", "slowslowsl2_000000_000010"]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc: ppid links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's wait is missing


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {p for p in pids if alive(p)}
        if not left:
            return left
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def cleanup(driver: subprocess.Popen, workers: set[int]) -> None:
    """Kill what a failed test leaves (orphans are no longer the driver's descendants)."""
    if driver.poll() is None:
        driver.kill()
        driver.wait()
    for pid in workers | descendants(driver.pid):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def kinetics_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}


@pytest.fixture
def mixed_corpus(tmp_path, moving_clip) -> Path:
    """Two clips whose TV-L1 takes a moment and two that take minutes on a CPU."""
    root = tmp_path / "corpus"
    records = [add_clip(root, moving_clip(dx=1, dy=0, frames=5), clip_id=c, split="train", label="abseiling", label_index=0,
                        fps=25.0, frames=5, width=96, height=64) for c in QUICK]
    records += [add_clip(root, moving_clip(dx=2, dy=1, frames=250, width=320, height=240), clip_id=c, split="train",
                         label="archery", label_index=1, fps=25.0, frames=250, width=320, height=240) for c in SLOW]
    CorpusIndex(root).record_clips(records)
    return root


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_kinetics_flow_workers_die_with_the_driver(mixed_corpus, how):
    root = mixed_corpus
    driver = subprocess.Popen([sys.executable, "-m", "kinetics", "flow", "--root", str(root), "--jobs", "2", "--method", "tvl1",
                               "--no-progress"], env=kinetics_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while len(list(root.glob("flow/**/quick*.kflow"))) < 2:
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the quick clips were never done"
            time.sleep(0.1)
        time.sleep(1.0)  # their outcomes reach the driver, which keeps them pending (flushed every 64)
        workers = descendants(driver.pid)
        assert len(workers) >= 2
        driver.send_signal(how)
        driver.wait(timeout=20)
        assert wait_gone(workers, 5.0) == set(), "workers outlived their driver"
        if how == signal.SIGTERM:
            assert driver.returncode == 130, driver.stderr.read()
            flow = CorpusIndex(root).flow_state(columns=["clip_id", "status"]).to_pylist()
            assert sorted(r["clip_id"] for r in flow if r["status"] == "ok") == sorted(QUICK)
        time.sleep(1.0)
        assert not list(root.glob("flow/**/slow*.kflow"))  # nothing published after the driver died
    finally:
        cleanup(driver, workers)


DRIVER = """
import sys, time
from kinetics.executors.local import LocalExecutor
import executor_tasks
with LocalExecutor(jobs=2) as ex:
    for outcome in ex.map_unordered(executor_tasks.sleep_long, range(4), setup=executor_tasks.slow_setup):
        pass
"""


def kill_once_two_workers_run(argv: list[str], how: int) -> None:
    """Start ``argv``, wait for two pool workers, send ``how`` to the driver alone; the workers must follow."""
    driver = subprocess.Popen(argv, env=kinetics_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while len(workers := {p for p in descendants(driver.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")}) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
            time.sleep(0.05)
        driver.send_signal(how)
        driver.wait(timeout=10)
        assert wait_gone(workers, 5.0) == set(), "workers outlived their driver"
    finally:
        cleanup(driver, workers)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_still_starting_die_with_the_driver(how):
    """The kill comes while the workers are in their (slow) setup: the window a parent watch started by setup missed."""
    kill_once_two_workers_run([sys.executable, "-c", DRIVER], how)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_audit_deep_workers_die_with_the_driver(mixed_corpus, how):
    kill_once_two_workers_run([sys.executable, "-m", "kinetics", "audit", "--root", str(mixed_corpus), "--deep", "--jobs", "2",
                               "--no-progress"], how)
