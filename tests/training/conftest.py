"""Fixtures for the training tests: a tiny motion corpus (RGB + DIS flow), random checkpoints, one torch thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from motion_corpus import build_motion_corpus  # noqa: E402
from numbered_media import failed_record, write_index  # noqa: E402
from tiny_runs import CLASSES, FRAMES, SIZE, Corpus  # noqa: E402

from kinetics.models.i3d import I3D  # noqa: E402


@pytest.fixture(scope="session")
def motion_corpus(tmp_path_factory) -> Corpus:
    """train: 2 clips per class, val: 1 per class plus one val target that is missing; DIS flow for every clip."""
    from kinetics.flow.run import FlowOptions, extract_flow

    root = tmp_path_factory.mktemp("motion") / "corpus"
    build_motion_corpus(root, clips_per_class={"train": 2, "val": 1}, classes=CLASSES, frames=FRAMES,
                        width=SIZE, height=SIZE)
    write_index(root, [failed_record("gonegonegon_000000_000010", "val", "missing")])
    summary = extract_flow(FlowOptions(root, method="dis"))
    assert summary.failed == 0
    return Corpus(root, CLASSES, train=2 * len(CLASSES), val=len(CLASSES), val_missing=1)


@pytest.fixture(scope="session")
def checkpoint_file(tmp_path_factory):
    """``checkpoint_file(stream, classes, seed)``: a random I3D state dict saved to a .pt file (cached)."""
    directory = tmp_path_factory.mktemp("checkpoints")
    made: dict[tuple, Path] = {}

    def make(stream: str = "rgb", classes: int = len(CLASSES), seed: int = 0) -> Path:
        key = (stream, classes, seed)
        if key not in made:
            torch.manual_seed(seed)
            model = I3D(classes, in_channels=3 if stream == "rgb" else 2)
            made[key] = directory / f"{stream}_{classes}_{seed}.pt"
            torch.save(model.state_dict(), made[key])
        return made[key]

    return make


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny clips gain nothing from threads, and with the CPUs shared OpenMP spinning makes steps several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
