"""``doctor --root`` on a custom corpus sizes the disk for that corpus's manifest, not all of Kinetics-400 (issue 13, item 14)."""

from __future__ import annotations

import json

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.doctor import diagnose
from kinetics.manifests.readers import Manifest


def _custom_corpus(root):
    rows = [{"youtube_id": f"custom{n:05d}", "time_start": 0, "time_end": 10, "label": "a", "split": "train" if n < 5 else "val"}
            for n in range(7)]
    CorpusIndex(root).add_targets(Manifest.from_rows(rows).table)
    return root


def test_a_custom_corpus_is_sized_from_its_own_manifest(tmp_path, capsys):
    root = _custom_corpus(tmp_path / "corpus")
    disk = {c.name: c for c in diagnose(root=root, bytes_per_clip=1000).checks}["disk"]
    assert disk.level == "ok" and "7 clips" in disk.detail and "corpus manifest" in disk.detail, disk.detail
    val = {c.name: c for c in diagnose(root=root, split="val", bytes_per_clip=1000).checks}["disk"]
    assert "2 clips" in val.detail, val.detail
    assert main(["doctor", "--root", str(root), "--json", "--bytes-per-clip", str(10**8)]) == 0  # 7 clips fit; all of Kinetics-400 would not
    disk = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == "disk")
    assert "7 clips" in disk["detail"]


def test_an_explicit_version_still_sizes_that_version(tmp_path):
    root = _custom_corpus(tmp_path / "corpus")
    disk = {c.name: c for c in diagnose(root=root, version="400", bytes_per_clip=1000).checks}["disk"]
    assert "Kinetics-400" in disk.detail and "7 clips" not in disk.detail
