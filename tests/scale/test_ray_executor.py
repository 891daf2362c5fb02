"""The Ray executor on a real local instance: outcomes, dead workers, setup, bounds, the shared root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import executor_tasks as tasks
from kinetics.executors import Resources, make_executor
from kinetics.executors.ray import WorkerLostError
from kinetics.executors.shared_root import TOKEN_PREFIX, SharedRootError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.ray
def test_every_item_gets_an_outcome_with_the_tasks_own_error(ray_instance, tmp_path):
    with make_executor("ray", jobs=2, root=tmp_path) as executor:
        outcomes = {o.item: o for o in executor.map_unordered(tasks.square, range(40))}
    assert set(outcomes) == set(range(40))
    assert isinstance(outcomes[13].error, ValueError) and "unlucky" in str(outcomes[13].error)
    assert all(outcomes[i].result == i * i for i in range(40) if i != 13)
    assert not list(tmp_path.glob(f"{TOKEN_PREFIX}*")), "the root token outlived the run"


@pytest.mark.ray
def test_a_killed_worker_fails_only_its_item_and_is_replaced(ray_instance):
    with make_executor("ray", jobs=2) as executor:
        outcomes = list(executor.map_unordered(tasks.die_on_seven, range(30)))
        again = list(executor.map_unordered(tasks.square, range(4)))  # the pool is whole again
    assert sorted(o.item for o in outcomes) == list(range(30))
    failed = [o for o in outcomes if not o.ok]
    assert [o.item for o in failed] == [7]  # one item per worker in flight: nothing else was lost
    assert isinstance(failed[0].error, WorkerLostError) and "died while running" in str(failed[0].error)
    assert all(o.result == o.item for o in outcomes if o.ok)
    assert sorted(o.result for o in again) == [0, 1, 4, 9]


@pytest.mark.ray
def test_at_most_jobs_items_run_at_once_and_setup_runs_once_per_worker(ray_instance):
    with make_executor("ray", jobs=2) as executor:
        spans = [o.result for o in executor.map_unordered(tasks.timed, range(16))]
        setups = [o.result for o in executor.map_unordered(tasks.setups_seen, range(20), setup=tasks.note_setup)]
    events = sorted([(start, 1) for _, start, _ in spans] + [(end, -1) for _, _, end in spans])
    running, most = 0, 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert 1 <= most <= 2
    assert len({pid for pid, _, _ in spans}) <= 2
    assert {count for _, count in setups} == {1}  # each worker ran setup exactly once for this call


@pytest.mark.ray
def test_workers_without_gpus_see_none(ray_instance):
    with make_executor("ray", jobs=1, resources=Resources(cpus=1, gpus=1, optional_gpus=True)) as executor:
        seen = {o.result for o in executor.map_unordered(tasks.visible_gpus, range(3))}
    assert seen == {""}  # this machine has no GPU: the optional GPU was dropped and CUDA hidden


@pytest.mark.ray
def test_an_impossible_reservation_fails_at_once_naming_it(ray_instance):
    from kinetics.errors import KineticsError

    with pytest.raises(KineticsError, match="64 CPUs and 0 GPUs"):
        with make_executor("ray", jobs=1, resources=Resources(cpus=64)):
            pass


@pytest.mark.ray
def test_a_worker_that_cannot_see_the_root_stops_the_run_naming_its_node(ray_instance, tmp_path):
    executor = make_executor("ray", jobs=2, root=tmp_path)
    with executor:  # the start-up probe passes: every node of this one-node cluster sees the root
        (token,) = tmp_path.glob(f"{TOKEN_PREFIX}*")
        token.unlink()  # now the workers look for a token that is not there, as on a node's local disk
        with pytest.raises(SharedRootError) as caught:
            list(executor.map_unordered(tasks.square, range(4)))
    message = str(caught.value)
    assert "does not see the corpus root" in message and str(tmp_path) in message
    assert "node " in message and token.name in message


def test_without_ray_the_package_works_and_ray_asks_for_the_extra(tmp_path):
    """Run in a fresh interpreter where ``import ray`` fails, as in an install without the extra."""
    for name in ("a", "b"):
        (tmp_path / name / "index").mkdir(parents=True)  # empty corpora: flow refuses a root that does not exist
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from kinetics.cli.main import main\n"
        f"assert main(['flow', '--root', {str(tmp_path / 'a')!r}, '--json']) == 0\n"  # local: fine without Ray
        f"sys.exit(main(['flow', '--root', {str(tmp_path / 'b')!r}, '--executor', 'ray']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "pip install 'kinetics[ray]'" in done.stderr and "Traceback" not in done.stderr
