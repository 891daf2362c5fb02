"""Fixtures for the report tests: a small real corpus (see report_media.build_corpus)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_media import build_corpus


@pytest.fixture(scope="session")
def report_corpus(tmp_path_factory, clip_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("report") / "corpus"
    return root, build_corpus(root, clip_factory)
