"""Fixtures of the download tests: a small filesystem that can be filled (full-disk cases), tiny manifests."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[str], Path]]:
    """``tmpfs("700k")`` mounts a tmpfs of that size under tmp_path (skips where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if shutil.which("mount") is None:
            pytest.skip("no mount command")
        mountpoint = tmp_path / f"tmpfs-{len(mounted)}"
        mountpoint.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(mountpoint)
        return mountpoint

    try:
        yield mount
    finally:
        for mountpoint in mounted:
            subprocess.run(["umount", str(mountpoint)], check=False)


@pytest.fixture
def one_class_manifest() -> Callable[[Path, list[str]], Path]:
    """``one_class_manifest(path, youtube_ids)`` writes a CSV of 3-second train clips of class "a"."""

    def write(path: Path, youtube_ids: list[str]) -> Path:
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            writer.writerows([["a", y, 1, 4, "train"] for y in youtube_ids])
        return path

    return write
