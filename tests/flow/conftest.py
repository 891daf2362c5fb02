"""Fixtures for the flow tests: video with known motion, and real frames (DeepMind's cricket clip)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "data"))  # numbered_media.add_clip: a clip placed as a download would

from moving_media import encode_grey, texture_frames  # noqa: E402


@pytest.fixture(scope="session")
def moving_clip(tmp_path_factory):
    """``moving_clip(dx=2, dy=-1, frames=25, fps=25, width=96, height=64)``: a cached MP4 of a sliding texture."""
    directory = tmp_path_factory.mktemp("moving")
    made: dict[tuple, Path] = {}

    def make(*, dx: int, dy: int, frames: int = 25, fps: float = 25.0, width: int = 96, height: int = 64) -> Path:
        key = (dx, dy, frames, fps, width, height)
        if key not in made:
            grey = texture_frames(dx=dx, dy=dy, frames=frames, width=width, height=height)
            made[key] = encode_grey(grey, directory / f"move_{dx}_{dy}_{frames}_{fps}_{width}x{height}.mp4", fps=fps)
        return made[key]

    return make


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one torch thread is faster, and steadier on a shared machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cricket_grey(shared_data) -> np.ndarray:
    """uint8 [79, 224, 224]: the grey frames of DeepMind's sample clip (real footage, real motion)."""
    import av

    path = shared_data / "samples" / "v_CricketShot_g04_c01_rgb.gif"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="gray") for frame in container.decode(video=0)])
