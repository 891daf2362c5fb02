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
    """KINETICS_SHARED_DATA when set (and only it: an explicit path must not fall back), else ../shared/data."""
    explicit = os.environ.get("KINETICS_SHARED_DATA")
    candidate = Path(explicit) if explicit else REPO.parent / "shared" / "data"
    return candidate if (candidate / "PROVENANCE.md").is_file() else None


def _shared_data_required() -> bool:
    """CI (a fresh clone with ../shared beside it) must run the tests that read it, not skip them."""
    def truthy(name: str) -> bool:
        return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")

    return truthy("CI") or truthy("KINETICS_REQUIRE_SHARED_DATA")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Kinetics/UCF/HMDB annotation files (read in place, never copied into the repo).

    Skips without them in a casual clone; fails where they are expected (env CI or
    KINETICS_REQUIRE_SHARED_DATA=1), so a CI run never passes by skipping ~50 tests.
    """
    path = _shared_data()
    where = os.environ.get("KINETICS_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    if path is None:
        message = f"shared data not found at {where} (no PROVENANCE.md); set KINETICS_SHARED_DATA"
        if _shared_data_required():
            pytest.fail(f"{message}; required here (CI / KINETICS_REQUIRE_SHARED_DATA is set)", pytrace=False)
        pytest.skip(message)
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
