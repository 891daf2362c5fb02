"""What the Ray executor costs per task, against the local process pool measured in the same run.

For each executor (``local``, the baseline, then ``ray`` with a private instance) and the same
``--jobs``:

* start-up: from ``make_executor`` to the first result (the local pool spawns its workers; Ray
  starts an instance and its worker actors);
* trivial tasks (return the item): tasks per second and wall-clock milliseconds per task per
  worker, i.e. the executor's own cost when the work is free;
* fixed tasks (sleep ``--sleep-ms``): the wall-clock time above the ideal ``tasks x sleep / jobs``,
  per task, i.e. what a real clip pays on top of its work;
* shutdown time.

A Kinetics task is seconds long (a clip's download and trim) to minutes (its TV-L1 flow), so the
figure to read is the overhead per task against that. Timings are wall-clock on a shared machine:
compare the ratios. Run::

    python benchmarks/executor_overhead.py [--jobs 2] [--tasks 2000] [--sleep-tasks 200] [--sleep-ms 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from kinetics.errors import MissingDependencyError
from kinetics.executors import make_executor


def identity(x: int) -> int:
    return x


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def measure(kind: str, *, jobs: int, tasks: int, sleep_tasks: int, sleep_seconds: float) -> dict[str, float]:
    began = time.perf_counter()
    executor = make_executor(kind, jobs=jobs)
    with executor:
        warm = list(executor.map_unordered(identity, range(jobs)))  # every worker started and answering
        started = time.perf_counter() - began
        assert all(o.ok for o in warm), warm

        t0 = time.perf_counter()
        done = sum(o.ok for o in executor.map_unordered(identity, range(tasks)))
        trivial = time.perf_counter() - t0
        assert done == tasks, f"{kind}: {tasks - done} trivial tasks failed"

        t0 = time.perf_counter()
        done = sum(o.ok for o in executor.map_unordered(nap, [sleep_seconds] * sleep_tasks))
        slept = time.perf_counter() - t0
        assert done == sleep_tasks
        t0 = time.perf_counter()
    stopped = time.perf_counter() - t0
    ideal = sleep_tasks * sleep_seconds / jobs
    return {
        "start_s": started,
        "tasks_per_s": tasks / trivial,
        "ms_per_task_per_worker": 1000 * trivial * jobs / tasks,
        "overhead_ms_per_task": 1000 * (slept - ideal) * jobs / sleep_tasks,
        "efficiency": ideal / slept,
        "stop_s": stopped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=2000, help="trivial tasks")
    parser.add_argument("--sleep-tasks", type=int, default=200, help="tasks that sleep --sleep-ms each")
    parser.add_argument("--sleep-ms", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    rows = {}
    for kind in ("local", "ray"):
        try:
            rows[kind] = measure(kind, jobs=args.jobs, tasks=args.tasks, sleep_tasks=args.sleep_tasks,
                                 sleep_seconds=args.sleep_ms / 1000)
        except MissingDependencyError as err:  # no Ray: the local pool alone
            print(f"{kind}: skipped ({err})", file=sys.stderr)
    print(f"jobs={args.jobs}, {args.tasks} trivial tasks, {args.sleep_tasks} tasks of {args.sleep_ms:g} ms, {os.cpu_count()} CPUs")
    header = f"{'executor':<10}{'start s':>9}{'tasks/s':>10}{'ms/task/worker':>16}{'overhead ms/task':>18}{'efficiency':>12}{'stop s':>8}"
    print(header)
    for kind, row in rows.items():
        print(f"{kind:<10}{row['start_s']:>9.2f}{row['tasks_per_s']:>10.0f}{row['ms_per_task_per_worker']:>16.2f}"
              f"{row['overhead_ms_per_task']:>18.2f}{row['efficiency']:>11.1%}{row['stop_s']:>8.2f}")
    if len(rows) == 2:
        local, ray = rows["local"], rows["ray"]
        print(f"ray / local: start {ray['start_s'] / local['start_s']:.2f}x, "
              f"cost per trivial task {ray['ms_per_task_per_worker'] / local['ms_per_task_per_worker']:.2f}x, "
              f"overhead per {args.sleep_ms:g} ms task {ray['overhead_ms_per_task'] - local['overhead_ms_per_task']:+.2f} ms")
        for seconds in (1.0, 10.0, 540.0):
            share = ray["overhead_ms_per_task"] / 1000 / seconds
            print(f"  Ray's overhead on a {seconds:g} s task (a trim ~1-10 s, a CPU TV-L1 clip ~540 s): {share:.3%}")


if __name__ == "__main__":
    main()
