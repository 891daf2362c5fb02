"""The public names: importable from ``kinetics`` and from their subpackage, the same objects, lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import kinetics

SUBPACKAGES = ["corpus", "data", "download", "flow", "manifests", "models", "training"]


@pytest.mark.parametrize("name", sorted(set(kinetics.__all__) - {"__version__"}))
def test_every_top_level_name_resolves(name):
    assert getattr(kinetics, name) is not None


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_exports_its_names_as_the_top_level_does(package):
    module = importlib.import_module(f"kinetics.{package}")
    assert module.__all__, f"kinetics.{package} exports nothing"
    for name in module.__all__:
        value = getattr(module, name)
        assert not isinstance(value, type(kinetics)), f"kinetics.{package}.{name} is a module"
        if name in kinetics.__all__:
            assert value is getattr(kinetics, name)
    with pytest.raises(AttributeError, match=f"kinetics.{package}"):
        getattr(module, "no_such_name")


def test_the_names_the_issues_use_import_from_their_packages():
    from kinetics.data import HMDB51Dataset, KineticsDataset, UCF101Dataset
    from kinetics.models import I3D, TwoStreamI3D

    assert KineticsDataset.__module__ == "kinetics.data.dataset" and I3D.__module__ == "kinetics.models.i3d"
    assert {UCF101Dataset.__name__, HMDB51Dataset.__name__, TwoStreamI3D.__name__} == {"UCF101Dataset", "HMDB51Dataset", "TwoStreamI3D"}


def test_importing_the_packages_does_not_import_torch():
    code = "import sys\nimport " + ", ".join(f"kinetics.{p}" for p in SUBPACKAGES) + "\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
