"""The local executor: results for every item, errors attached to their item, dead workers survived."""

from __future__ import annotations

import pytest

from executor_tasks import die_on_seven, square
from kinetics.executors import make_executor


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_item_gets_an_outcome(jobs):
    with make_executor("local", jobs=jobs) as executor:
        outcomes = {o.item: o for o in executor.map_unordered(square, range(20))}
    assert set(outcomes) == set(range(20))
    assert outcomes[13].error is not None and "unlucky" in str(outcomes[13].error)
    assert all(outcomes[i].result == i * i for i in range(20) if i != 13)


def test_a_killed_worker_fails_only_items_in_flight():
    with make_executor("local", jobs=2) as executor:
        outcomes = list(executor.map_unordered(die_on_seven, range(30)))
    assert sorted(o.item for o in outcomes) == list(range(30))
    failed = [o.item for o in outcomes if o.error is not None]
    assert 7 in failed
    assert len(failed) <= 4  # at most the items in flight (2 x jobs) when the worker died
    assert all(o.result == o.item for o in outcomes if o.error is None)


def test_unknown_executor_is_rejected_by_name():
    with pytest.raises(ValueError, match="'spark'"):
        make_executor("spark")
