"""The importer over every real annotation file in shared/data, checked against its PROVENANCE.md.

The expected numbers are parsed from the PROVENANCE.md files (written when the files were
collected), so this test holds the reader to facts measured independently of our code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kinetics.manifests.readers import Manifest
from kinetics.manifests.registry import Registry
from kinetics.manifests.sources import import_manifest, load_manifest

FOLDERS = {"kinetics400": "400", "kinetics600": "600", "kinetics700": "700", "kinetics700_2020": "700-2020"}
CLASS_LISTS = {"400": "kinetics400", "600": "kinetics600", "700": "kinetics700", "700-2020": "kinetics700"}
FACTS = re.compile(
    r"data rows \(excl\. header\): (\d+); distinct labels: (\d+); distinct youtube_id: (\d+); "
    r"distinct \(youtube_id,time_start,time_end\): (\d+)"
)


@dataclass(frozen=True)
class Documented:
    version: str
    path: Path
    sha256: str
    rows: int
    labels: int
    youtube_ids: int
    keys: int


def documented_files(data: Path) -> list[Documented]:
    found = []
    for folder, version in FOLDERS.items():
        text = (data / folder / "PROVENANCE.md").read_text()
        for section in re.split(r"\n### ", text)[1:]:
            name = re.match(r"`([^`]+)`", section).group(1)
            facts = FACTS.search(section)
            if not facts:
                continue  # not an annotation CSV (e.g. the K600 readme)
            sha = re.search(r"sha256 `([0-9a-f]{64})`", section).group(1)
            (path,) = list((data / folder).rglob(name))
            found.append(Documented(version, path, sha, *(int(n) for n in facts.groups())))
    return found


@pytest.fixture(scope="module")
def parsed(shared_data):
    """Each documented file read once (about 490,000 rows in all)."""
    files = documented_files(shared_data)
    assert len(files) == 12, [f.path.name for f in files]
    return [(doc, Manifest.from_file(doc.path)) for doc in files]


def test_every_documented_file_reads_with_its_known_counts(parsed):
    for doc, manifest in parsed:
        report = manifest.report
        where = doc.path.name
        assert report.rows_read == doc.rows, where
        assert report.problems == [], (where, report.problems[:3])
        assert len(manifest) == doc.keys, where  # one row per distinct (youtube_id, start, end)
        assert report.duplicates == doc.rows - doc.keys == 0, where
        assert len(manifest.classes) == doc.labels, where
        assert len(pc.unique(manifest.table.column("youtube_id"))) == doc.youtube_ids, where


def test_youtube_id_is_not_a_key_in_600_and_700(parsed):
    repeated = {doc.path.name for doc, m in parsed if len(pc.unique(m.table.column("youtube_id"))) < len(m)}
    assert repeated == {d.path.name for d, _ in parsed if d.youtube_ids < d.keys}
    assert {"kinetics-600_val.csv", "kinetics-700_val.csv", "kinetics-700_2020_val.csv"} <= repeated
    for doc, manifest in parsed:  # and yet every clip id is unique
        assert len(pc.unique(manifest.table.column("clip_id"))) == len(manifest), doc.path.name


def test_kinetics_400_val(parsed):
    (manifest,) = [m for d, m in parsed if d.path.name == "kinetics-400_val.csv"]
    assert len(manifest) == 19_906 and len(manifest.classes) == 400
    assert manifest.splits == ["val"]
    labels = manifest.table.column("label").to_pylist()
    assert "air drumming" in labels  # double-quoted in the file


def test_split_names_are_normalised(parsed):
    splits = {d.path.name: m.splits for d, m in parsed}
    assert splits["validate.csv"] == ["val"]  # DeepMind says "validate"
    assert splits["kinetics-700_2020_val.csv"] == ["val"]
    assert splits["kinetics_600_holdout_test.csv"] == ["holdout_test"]


def test_label_index_follows_the_sorted_class_list(parsed, shared_data):
    for doc, manifest in parsed:
        labels = manifest.table.column("label").to_pylist()
        index = manifest.table.column("label_index").to_pylist()
        if doc.labels == 0:
            assert set(index) == {-1} and set(labels) == {None}, doc.path.name
            continue
        classes = sorted(set(labels))
        assert manifest.classes == classes
        assert all(classes[i] == label for i, label in zip(index, labels)), doc.path.name
        official = (shared_data / "class_lists" / f"{CLASS_LISTS[doc.version]}_label_map_mmaction2.txt").read_text().split("\n")
        assert classes == [c for c in official if c], doc.path.name  # the order public checkpoints use


def test_registry_knows_every_documented_file(shared_data):
    registry = Registry.load()
    for doc in documented_files(shared_data):
        known = registry.known_file(doc.sha256)
        assert known is not None, doc.path.name
        assert (known.version, known.rows, known.labels) == (doc.version, doc.rows, doc.labels), doc.path.name


def test_import_recognises_a_published_file_and_caches_it_offline(shared_data):
    path = shared_data / "kinetics700_2020" / "kinetics-700_2020_val.csv"
    result = import_manifest(path)
    assert result.known is not None and result.known.version == "700-2020"
    assert [p.name for p in result.paths] == ["val.parquet"]
    manifest = load_manifest("700-2020", "val")  # no server anywhere: must come from the cache
    assert len(manifest) == 34_198 and len(manifest.classes) == 700
    assert set(manifest.table.column("version").to_pylist()) == {"700-2020"}
