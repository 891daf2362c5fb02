"""A clean run leaves no cookie copies behind; a far-future back-off cannot hang a run (issue 13, item 9)."""

from __future__ import annotations

import json
import tempfile
import time

import pytest

from kinetics.cli.main import main
from kinetics.download.throttle import BackoffPolicy, SharedThrottle


def test_wait_never_exceeds_the_cap_whatever_the_file_says(tmp_path):
    throttle = SharedThrottle(tmp_path, BackoffPolicy(base_seconds=0.1, cap_seconds=0.3), host="h")
    throttle.path.parent.mkdir(parents=True)
    throttle.path.write_text(json.dumps({"resume_at": time.time() + 1e9, "delay_seconds": 1e9, "updated_at": time.time()}))
    slept: list[float] = []
    waited = throttle.wait(sleep=slept.append, poll_seconds=0.05)
    assert waited == pytest.approx(0.3) and sum(slept) == pytest.approx(0.3)


@pytest.mark.network_loopback
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_clean_run_leaves_no_cookie_copies_and_says_why_it_waits(tmp_path, serve, monkeypatch, capsys, caplog, jobs, one_class_manifest):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # spawned workers
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # this process
    server = serve()  # every id answers 404: nothing to normalise, the run is quick
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n.example.org\tTRUE\t/\tFALSE\t0\tname\tvalue\n")
    root = tmp_path / "root"
    throttle = SharedThrottle(root, BackoffPolicy(1.0, 1.0), host="h")  # left by an earlier run, or a wrong clock
    throttle.path.parent.mkdir(parents=True)
    throttle.path.write_text(json.dumps({"resume_at": time.time() + 1e9, "delay_seconds": 60, "updated_at": time.time(), "message": "HTTP Error 429"}))
    manifest = one_class_manifest(tmp_path / "m.csv", ["aaaaaaaaaaa", "bbbbbbbbbbb"])
    began = time.monotonic()
    main(["download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/status/404/{youtube_id}",
          "--jobs", jobs, "--max-attempts", "1", "--backoff-base", "0.5", "--backoff-cap", "1", "--throttle-group", "h",
          "--cookies", str(cookies)])
    err = capsys.readouterr().err + caplog.text  # a warning: stderr outside pytest
    assert time.monotonic() - began < 60
    assert "waiting" in err and "back-off" in err and "HTTP Error 429" in err, err
    assert [p.name for p in temp.iterdir()] == [], "cookie copies left in the temp directory"
