"""The shipped registry (manifests/kinetics.json) is well-formed and says only what it can support."""

from __future__ import annotations

import json

import pytest

from kinetics.errors import ManifestError
from kinetics.manifests.registry import SOURCES, Registry
from kinetics.manifests.schema import VERSIONS


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


def test_every_version_has_a_usable_default_source(registry):
    assert sorted(registry.versions) == sorted(VERSIONS)
    for version, entry in registry.versions.items():
        source = entry.source(None)
        assert source.files, version  # the default source serves at least one split
        assert {"train", "val"} <= set(entry.sources["deepmind"].files), version
        assert entry.classes == {"400": 400, "600": 600, "700": 700, "700-2020": 700}[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_urls_follow_the_publishers_layouts(registry, version):
    entry = registry.version(version)
    deepmind = entry.sources["deepmind"]
    folder = version.replace("-", "_")
    assert deepmind.url(deepmind.archive.path) == f"https://storage.googleapis.com/deepmind-media/Datasets/kinetics{folder}.tar.gz"
    assert all(f.member.startswith(f"kinetics{folder}/") for f in deepmind.files.values())
    cvdf = entry.sources["cvdf"]
    cvdf_folder = {"400": "400", "600": "600", "700": "700_2020", "700-2020": "700_2020"}[version]
    for item in cvdf.files.values():
        assert cvdf.url(item.path).startswith(f"https://s3.amazonaws.com/kinetics/{cvdf_folder}/annotations/")
    assert cvdf.url("x", "http://mirror/k/") == "http://mirror/k/x"


def test_unknowns_are_null_and_gaps_are_explained(registry):
    for version, entry in registry.versions.items():
        for name, source in entry.sources.items():
            assert source.provenance, (version, name)
            for split, why in source.unavailable.items():
                assert split not in source.files and why, (version, name, split)
            for item in source.files.values():
                assert item.sha256 is None or len(item.sha256) == 64
    # Kinetics-700 (2019) annotations are not on CVDF: its folder holds the 2020 release
    assert registry.version("700").sources["cvdf"].files == {}
    assert "incomplete" in registry.version("600").sources["cvdf"].unavailable["train"]


def test_bad_choices_are_named(registry):
    with pytest.raises(ManifestError, match=r"version must be one of .*got '500'"):
        registry.version("500")
    with pytest.raises(ManifestError, match=r"source must be one of \('cvdf', 'deepmind'\), got 'youtube'"):
        registry.version("400").source("youtube")
    assert SOURCES == ("cvdf", "deepmind")


def test_malformed_registry_files_are_rejected(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": "kinetics-registry/1", "versions": {"400": {"classes": 400, "default_source": "cvdf", "sources": {}}}}))
    with pytest.raises(ManifestError, match="default_source 'cvdf' is not one of its sources"):
        Registry.from_file(path)
    path.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ManifestError, match="registry schema"):
        Registry.from_file(path)
