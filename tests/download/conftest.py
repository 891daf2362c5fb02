"""Fixtures of the download tests: a small filesystem that can be filled, for full-disk cases."""

from __future__ import annotations

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
