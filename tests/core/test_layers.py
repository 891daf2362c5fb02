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


def lint_with_added_import(tmp_path: Path, module: str, imported: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package in which ``module`` imports ``imported`` inside a function."""
    shutil.copytree(REPO / "kinetics", tmp_path / "kinetics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    package, name = imported.rsplit(".", 1)
    path.write_text(path.read_text() + f"\n\ndef _added():\n    from {package} import {name}\n    return {name}\n")
    return lint(tmp_path)


def test_an_upward_import_inside_a_function_breaks_the_contract_and_is_named(tmp_path):
    result = lint_with_added_import(tmp_path, "kinetics.data.timebase", "kinetics.flow.methods")
    assert result.returncode != 0
    assert "kinetics.data.timebase -> kinetics.flow.methods" in result.stdout


def test_a_cycle_between_sibling_modules_breaks_the_contract(tmp_path):
    result = lint_with_added_import(tmp_path, "kinetics.flow.params", "kinetics.flow.tvl1")
    assert result.returncode != 0
    assert ".tvl1 -> .params" in result.stdout
