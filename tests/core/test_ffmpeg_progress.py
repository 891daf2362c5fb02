"""ffmpeg resolution order, argv-only execution, and the progress reporter's arithmetic."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from kinetics.errors import MissingDependencyError
from kinetics.ffmpeg import FFmpegError, find_ffmpeg, run_ffmpeg
from kinetics.progress import Progress


def test_resolution_order(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ffmpeg version 9.9-test'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("KINETICS_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ["PATH"])
    assert find_ffmpeg().source == "path" and find_ffmpeg().version == "9.9-test"
    monkeypatch.setenv("KINETICS_FFMPEG", str(fake))
    assert find_ffmpeg().source == "env"
    assert find_ffmpeg(str(fake)).source == "setting"
    monkeypatch.setenv("KINETICS_FFMPEG", str(tmp_path / "nope"))
    with pytest.raises(MissingDependencyError, match="KINETICS_FFMPEG"):
        find_ffmpeg()


def test_bundled_binary_is_the_fallback(monkeypatch):
    monkeypatch.delenv("KINETICS_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    found = find_ffmpeg()
    assert found.source == "imageio" and found.version != "unknown"


def test_failures_carry_stderr(tmp_path):
    with pytest.raises(FFmpegError) as info:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])
    assert "missing.mp4" in str(info.value) and info.value.returncode != 0


def test_progress_counts_rate_and_json_lines():
    sink = io.StringIO()
    with Progress(4, show=False, json_lines=sink, json_interval_seconds=0) as progress:
        progress.update("ok")
        progress.update("missing")
        progress.update("skipped")
        progress.update("failed")
        with pytest.raises(ValueError, match="outcome"):
            progress.update("great")
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert lines[-1]["done"] == 4 and lines[-1]["ok"] == 1 and lines[-1]["eta_seconds"] == 0.0
    assert progress.counts.per_minute > 0
