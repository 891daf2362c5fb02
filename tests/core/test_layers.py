"""The layer contract of pyproject.toml ([tool.importlinter]) holds, and it does catch a forbidden import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = shutil.which("lint-imports", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))

pytestmark = pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed (pip install -e '.[test]')")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run(
        [LINT_IMPORTS, str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_package_keeps_its_layers():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "kinetics", tmp_path / "kinetics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_upward_import_inside_a_function_breaks_the_contract_and_is_named(tmp_path):
    root = copy_of_package(tmp_path)
    timebase = root / "kinetics" / "data" / "timebase.py"
    timebase.write_text(timebase.read_text() + "\n\ndef _sneaky():\n    from kinetics.flow import methods\n    return methods\n")
    result = lint(root)
    assert result.returncode != 0
    assert "kinetics.data.timebase -> kinetics.flow.methods" in result.stdout


def test_a_cycle_between_sibling_modules_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    params = root / "kinetics" / "flow" / "params.py"
    params.write_text(params.read_text() + "\n\ndef _back():\n    from kinetics.flow import tvl1\n    return tvl1\n")
    result = lint(root)
    assert result.returncode != 0
    assert ".tvl1 -> .params" in result.stdout
