"""Shared back-off: doubling with a cap, one wave counted once, success resets, processes agree."""

from __future__ import annotations

import json
import time

import pytest

from kinetics.download.throttle import BackoffPolicy, SharedThrottle
from kinetics.executors import make_executor


def test_delay_doubles_to_the_cap_and_success_resets(tmp_path):
    throttle = SharedThrottle(tmp_path, BackoffPolicy(base_seconds=1.0, cap_seconds=5.0), host="node-a")
    delays = []
    for _ in range(5):
        state = throttle.report_throttled(request_started_at=time.time(), message="HTTP Error 429")
        delays.append(state.delay_seconds)
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert state.resume_at >= time.time() + 4.5
    assert json.loads((tmp_path / "index" / "throttle" / "node-a.json").read_text())["events"] == 5
    throttle.report_success(request_started_at=time.time())
    after = throttle.state()
    assert after.delay_seconds == 0 and after.events == 5
    assert throttle.report_throttled(request_started_at=time.time()).delay_seconds == 1.0


def test_one_wave_seen_by_many_requests_counts_once(tmp_path):
    throttle = SharedThrottle(tmp_path, BackoffPolicy(base_seconds=2.0, cap_seconds=60.0), host="h")
    began = time.time()  # three requests in flight when the server starts refusing
    first = throttle.report_throttled(request_started_at=began)
    second = throttle.report_throttled(request_started_at=began)
    third = throttle.report_throttled(request_started_at=began)
    assert first.delay_seconds == second.delay_seconds == third.delay_seconds == 2.0
    assert third.events == 3 and third.waves == 1
    # a success from a request that began before the throttle says nothing about now
    throttle.report_success(request_started_at=began)
    assert throttle.state().delay_seconds == 2.0


def test_wait_blocks_until_the_shared_resume_time(tmp_path):
    policy = BackoffPolicy(base_seconds=0.3, cap_seconds=1.0)
    SharedThrottle(tmp_path, policy, host="h").report_throttled(request_started_at=time.time())
    other_worker = SharedThrottle(tmp_path, policy, host="h")  # same host, separate handle
    began = time.monotonic()
    other_worker.wait(poll_seconds=0.05)
    assert time.monotonic() - began >= 0.25
    assert SharedThrottle(tmp_path, policy, host="other-host").wait() == 0.0  # keyed by host


def test_a_damaged_state_file_does_not_stall_the_run(tmp_path):
    throttle = SharedThrottle(tmp_path, BackoffPolicy(1.0, 2.0), host="h")
    throttle.path.parent.mkdir(parents=True)
    throttle.path.write_text("{not json")
    assert throttle.wait() == 0.0
    assert throttle.report_throttled(request_started_at=time.time()).events == 1


def _report_from_a_process(root: str) -> float:
    throttle = SharedThrottle(root, BackoffPolicy(base_seconds=10.0, cap_seconds=100.0), host="shared")
    return throttle.report_throttled(request_started_at=time.time() - 1.0).delay_seconds


def test_processes_on_one_host_share_the_state(tmp_path):
    with make_executor("local", jobs=2) as executor:
        results = [o.result for o in executor.map_unordered(_report_from_a_process, [str(tmp_path)] * 4)]
    assert len(results) == 4 and all(r in (10.0, 20.0, 40.0, 80.0) for r in results)
    state = SharedThrottle(tmp_path, BackoffPolicy(10.0, 100.0), host="shared").state()
    assert state.events == 4  # no update was lost to a race (the file is locked while it is rewritten)
    assert state.delay_seconds == max(results)


@pytest.mark.parametrize("base, cap", [(0, 1), (2, 1), (-1, 5)])
def test_bad_policies_are_refused(base, cap):
    with pytest.raises(ValueError, match="base"):
        BackoffPolicy(base, cap)
