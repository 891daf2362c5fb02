"""An ffmpeg older than MIN_VERSION on PATH (Debian 12's 5.1) is passed over; one named explicitly is refused.

The old ffmpeg here is a real executable that prints what Debian's prints; the resolver runs it.
If a real distribution ffmpeg older than 7 is installed, it is checked too.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from kinetics.doctor import diagnose
from kinetics.errors import MissingDependencyError
from kinetics.ffmpeg import MIN_VERSION, find_ffmpeg, parse_release

DEBIAN_BANNER = "ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers"


@pytest.fixture
def old_ffmpeg_on_path(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho '{DEBIAN_BANNER}'\necho 'built with gcc 12 (Debian 12.2.0-14)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("KINETICS_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ["PATH"])
    assert shutil.which("ffmpeg") == str(fake)
    return fake


def test_versions_parse():
    assert parse_release("5.1.6-0+deb12u1") == (5, 1)
    assert parse_release("n9.0.2-17-g2a571b6068-20260930") == (9, 0)
    assert parse_release("7.1") == (7, 1)
    assert parse_release("N-117000-gabcdef") is None and parse_release("unknown") is None


def test_an_old_ffmpeg_on_path_loses_to_the_bundled_one(old_ffmpeg_on_path):
    found = find_ffmpeg()
    assert found.source == "imageio" and found.path != str(old_ffmpeg_on_path)
    assert found.release is not None and found.release >= MIN_VERSION
    assert found.skipped == f"{old_ffmpeg_on_path} is ffmpeg 5.1.6-0+deb12u1, older than 7.0"


def test_an_old_ffmpeg_named_explicitly_is_refused(old_ffmpeg_on_path, monkeypatch):
    with pytest.raises(MissingDependencyError, match=r"ffmpeg 5\.1\.6-0\+deb12u1: kinetics needs ffmpeg >= 7\.0"):
        find_ffmpeg(str(old_ffmpeg_on_path))
    monkeypatch.setenv("KINETICS_FFMPEG", str(old_ffmpeg_on_path))
    with pytest.raises(MissingDependencyError, match=r"\$KINETICS_FFMPEG names"):
        find_ffmpeg()


def test_doctor_reports_the_version_and_what_was_passed_over(old_ffmpeg_on_path, monkeypatch):
    check = next(c for c in diagnose().checks if c.name == "ffmpeg")
    assert check.level == "ok" and "(imageio:" in check.detail and "5.1.6-0+deb12u1, older than 7.0" in check.detail
    monkeypatch.setenv("KINETICS_FFMPEG", str(old_ffmpeg_on_path))
    check = next(c for c in diagnose().checks if c.name == "ffmpeg")
    assert check.level == "fail" and check.required and "needs ffmpeg >= 7.0" in check.detail


def _distribution_ffmpeg() -> str | None:
    """A real distribution ffmpeg: $KINETICS_TEST_OLD_FFMPEG (e.g. Debian's, unpacked), else /usr/bin/ffmpeg."""
    for candidate in (os.environ.get("KINETICS_TEST_OLD_FFMPEG"), "/usr/bin/ffmpeg"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.skipif(_distribution_ffmpeg() is None, reason="no distribution ffmpeg (/usr/bin/ffmpeg or $KINETICS_TEST_OLD_FFMPEG)")
def test_the_distribution_ffmpeg_is_judged_by_its_real_version(tmp_path, monkeypatch):
    real = _distribution_ffmpeg()
    out = subprocess.run([real, "-version"], capture_output=True, text=True).stdout
    release = parse_release(out.split()[2])
    on_path = tmp_path / "bin" / "ffmpeg"
    on_path.parent.mkdir()
    on_path.symlink_to(real)
    monkeypatch.delenv("KINETICS_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(on_path.parent) + os.pathsep + os.environ["PATH"])
    found = find_ffmpeg()
    if release is not None and release < MIN_VERSION:
        assert found.source == "imageio" and found.skipped and str(on_path) in found.skipped
        with pytest.raises(MissingDependencyError, match="needs ffmpeg >= 7.0"):
            find_ffmpeg(real)
    else:
        assert found.path == str(on_path)
