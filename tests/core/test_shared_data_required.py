"""Tests that read ../shared/data skip in a casual clone but fail where the data is expected (issue 13, item 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

NEEDS_DATA = '''
def test_reads_the_shared_data(shared_data):
    assert (shared_data / "PROVENANCE.md").is_file()
'''


@pytest.mark.parametrize("required, outcome", [({}, "1 skipped"), ({"CI": "true"}, "1 error"),
                                               ({"KINETICS_REQUIRE_SHARED_DATA": "1"}, "1 error")])
def test_missing_shared_data_fails_where_it_is_expected(tmp_path, required, outcome):
    (tmp_path / "test_needs_data.py").write_text(NEEDS_DATA)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "KINETICS_REQUIRE_SHARED_DATA")}
    env.update(required, KINETICS_SHARED_DATA=str(tmp_path / "absent"))  # an explicit path wins over ../shared
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "--rootdir", str(tmp_path),
         str(tmp_path / "test_needs_data.py")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in result.stdout, result.stdout + result.stderr
    if required:
        assert result.returncode != 0 and "KINETICS_SHARED_DATA" in result.stdout
