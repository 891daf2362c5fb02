"""``kinetics doctor`` on this machine's real environment (nothing is faked; only today's date is chosen)."""

from __future__ import annotations

import importlib.metadata
import json
from datetime import date, timedelta

from kinetics.cli.main import main
from kinetics.doctor import diagnose, release_date
from kinetics.manifests.sources import import_manifest


def by_name(report):
    return {c.name: c for c in report.checks}


def test_the_tools_a_download_needs_are_found():
    checks = by_name(diagnose())
    from kinetics.ffmpeg import find_ffmpeg

    assert checks["ffmpeg"].level == "ok" and checks["ffmpeg"].detail.startswith(find_ffmpeg().version)
    assert checks["javascript"].level == "ok" and "deno" in checks["javascript"].detail
    assert checks["pyav"].level == "ok" and checks["pyav"].detail == __import__("av").__version__
    assert checks["torch"].detail == importlib.metadata.version("torch")
    assert checks["numba"].detail == importlib.metadata.version("numba")


def test_yt_dlp_age_comes_from_its_version():
    released = release_date(importlib.metadata.version("yt-dlp"))
    assert released is not None
    fresh = by_name(diagnose(today=released + timedelta(days=10)))["yt-dlp"]
    assert fresh.level == "ok" and fresh.detail.endswith("10 days old")
    stale = by_name(diagnose(today=released + timedelta(days=400)))["yt-dlp"]
    assert stale.level == "warn" and "400 days old; yt-dlp breaks when YouTube changes, upgrade with pip install -U yt-dlp" in stale.detail
    assert release_date("2025.11.12.232651") == date(2025, 11, 12) and release_date("2025.13.40") is None


def test_disk_is_sized_from_the_cached_manifest(shared_data, tmp_path, capsys):
    import_manifest(shared_data / "kinetics400" / "kinetics-400_val.csv")
    root = tmp_path / "corpus"
    roomy = by_name(diagnose(root=root, version="400", split="val", bytes_per_clip=1000))["disk"]
    assert roomy.level == "ok" and "19,906 clips" in roomy.detail and "cached manifest" in roomy.detail
    assert main(["doctor", "--root", str(root), "--split", "val", "--bytes-per-clip", str(10**15), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    disk = next(c for c in report["checks"] if c["name"] == "disk")
    assert disk["level"] == "fail" and disk["required"] and not report["ok"]
    unknown = by_name(diagnose(root=root, version="600"))["disk"]
    assert unknown.level == "warn" and "kinetics manifests pull --version 600" in unknown.advice


def test_unusable_root_fails(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    checks = by_name(diagnose(root=blocker / "corpus"))
    assert checks["corpus root"].level == "fail" and "not a directory" in checks["corpus root"].detail
    assert main(["doctor", "--root", str(blocker / "corpus")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  corpus root" in out


def test_exit_zero_when_everything_required_passes(tmp_path, capsys):
    assert main(["doctor", "--root", str(tmp_path), "--split", "val", "--bytes-per-clip", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok    ffmpeg")
