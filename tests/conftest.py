"""Fixtures shared by every test module: the real annotation files, loopback servers, tiny media."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# Spawned workers (executors, DataLoader) unpickle test functions by module name: make
# "tests.<dir>.<module>" importable in them (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loopback import LoopbackServer  # noqa: E402
from media import make_clip  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    candidates = [os.environ.get("KINETICS_SHARED_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate, "PROVENANCE.md").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Kinetics/UCF/HMDB annotation files (read in place, never copied into the repo)."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data not found (set KINETICS_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's cache (manifests, checkpoints) out of the user's home directory."""
    monkeypatch.setenv("KINETICS_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def serve(tmp_path):
    """Start a loopback server over a fresh directory: ``server = serve()``; files go in ``server.directory``."""
    servers: list[LoopbackServer] = []

    def start(directory: Path | None = None) -> LoopbackServer:
        root = Path(directory) if directory else tmp_path / f"www{len(servers)}"
        root.mkdir(parents=True, exist_ok=True)
        server = LoopbackServer(root).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory):
    """Encode (and cache per session) synthetic MP4s: ``clip_factory(seconds=4, fps=25, ...)``."""
    directory = tmp_path_factory.mktemp("media")
    made: dict[tuple, Path] = {}

    def make(**options) -> Path:
        key = tuple(sorted(options.items()))
        if key not in made:
            name = "_".join(f"{k}{v}" for k, v in key) or "default"
            made[key] = make_clip(directory / f"{name}.mp4", **options)
        return made[key]

    return make
