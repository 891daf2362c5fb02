"""``pull_manifest`` against a real HTTP server on 127.0.0.1 serving files built from the real CSVs."""

from __future__ import annotations

import csv
import hashlib
import tarfile
from pathlib import Path

import pytest

from kinetics.errors import ChecksumError, ManifestError
from kinetics.fetch import FetchError
from kinetics.manifests.readers import Manifest
from kinetics.manifests.registry import Registry
from kinetics.manifests.sources import load_manifest, manifest_dir, pull_manifest

pytestmark = pytest.mark.network_loopback


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_rows(path: Path) -> int:
    with open(path, newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def as_train(source: Path, dest: Path) -> Path:
    """A train file built from real rows: the 2017 val, with its split column set to train."""
    with open(source, newline="") as handle, open(dest, "w", newline="") as out:
        reader, writer = csv.DictReader(handle), None
        for row in reader:
            row["split"] = "train"
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
                writer.writeheader()
            writer.writerow(row)
    return dest


def cvdf_registry(files: dict[str, dict], archive: dict | None = None) -> Registry:
    sources = {"cvdf": {"base_url": "https://s3.amazonaws.com/kinetics", "provenance": "test", "files": files}}
    if archive is not None:
        sources = {"deepmind": {"base_url": "https://example.invalid", "provenance": "test", "archive": archive, "files": files}}
    entry = {"classes": 400, "default_source": next(iter(sources)), "sources": sources}
    return Registry.from_dict({"schema": "kinetics-registry/1", "versions": {"400": entry}})


@pytest.fixture
def k400(shared_data):
    return {"val": shared_data / "kinetics400" / "kinetics-400_val.csv", "test": shared_data / "kinetics400" / "kinetics-400_test.csv",
            "validate": shared_data / "kinetics400" / "release_2020" / "validate.csv",
            "test_labelled": shared_data / "kinetics400" / "release_2020" / "test.csv"}


def test_cvdf_val_with_the_shipped_registry(serve, k400):
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    (server.directory / "400" / "annotations" / "val.csv").write_bytes(k400["val"].read_bytes())
    result = pull_manifest("400", splits=["val"], base_url=server.url("files"))
    assert result.source == "cvdf" and len(result.manifest) == 19_906 and len(result.manifest.classes) == 400
    (check,) = result.files
    assert (check.rows_read, check.expected_rows, check.sha256) == (19_906, 19_906, sha256(k400["val"]))
    assert check.url == server.url("files/400/annotations/val.csv")
    requests = len(server.requests)
    again = load_manifest("400", "val")  # cached: the server sees nothing
    assert len(server.requests) == requests
    assert again.table.equals(result.manifest.table)
    assert (manifest_dir("400") / "raw" / "cvdf" / "val.csv").read_bytes() == k400["val"].read_bytes()


def test_all_splits_from_a_cvdf_style_mirror(serve, k400, tmp_path):
    server = serve()
    folder = server.directory / "400" / "annotations"
    folder.mkdir(parents=True)
    as_train(k400["val"], folder / "train.csv")
    (folder / "val.csv").write_bytes(k400["validate"].read_bytes())
    (folder / "test.csv").write_bytes(k400["test"].read_bytes())
    registry = cvdf_registry({
        "train": {"path": "400/annotations/train.csv", "rows": 19_906, "labelled": True},
        "val": {"path": "400/annotations/val.csv", "rows": 17_778, "sha256": sha256(k400["validate"]), "labelled": True},
        "test": {"path": "400/annotations/test.csv", "rows": 38_685, "labelled": False},
    })
    result = pull_manifest("400", base_url=server.url("files"), registry=registry)
    counts = {split: sum(1 for s in result.manifest.table.column("split").to_pylist() if s == split) for split in ("train", "val", "test")}
    assert counts == {"train": 19_906, "val": 17_778, "test": 38_685}
    manifest = load_manifest("400", registry=registry)
    assert len(manifest) == 19_906 + 17_778 + 38_685 and manifest.classes == result.manifest.classes
    assert len(manifest.classes) == 400


def test_deepmind_tarball(serve, k400, tmp_path):
    server = serve()
    members = {"kinetics400/train.csv": as_train(k400["val"], tmp_path / "train.csv"),
               "kinetics400/validate.csv": k400["validate"], "kinetics400/test.csv": k400["test_labelled"]}
    archive = server.directory / "kinetics400.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, path in members.items():
            tar.add(path, arcname=name)
        tar.add(k400["val"], arcname="kinetics400/train.json")  # a sibling we do not read
    registry = cvdf_registry(
        {"train": {"member": "kinetics400/train.csv", "rows": 19_906}, "val": {"member": "kinetics400/validate.csv", "rows": 17_778},
         "test": {"member": "kinetics400/test.csv", "rows": 34_826, "labelled": True}},
        archive={"path": "kinetics400.tar.gz", "sha256": sha256(archive)},
    )
    result = pull_manifest("400", base_url=server.url("files"), registry=registry)
    assert result.source == "deepmind"
    assert {c.split: c.rows_kept for c in result.files} == {"train": 19_906, "val": 17_778, "test": 34_826}
    assert len(server.requests_matching("kinetics400.tar.gz")) == 1  # one archive download for three splits
    val = load_manifest("400", "val", registry=registry)
    assert val.splits == ["val"]  # DeepMind's "validate"
    labels, index = val.table.column("label").to_pylist(), val.table.column("label_index").to_pylist()
    assert all(val.classes[i] == label for i, label in zip(index, labels))
    assert (manifest_dir("400") / "raw" / "deepmind" / "kinetics400.tar.gz").read_bytes() == archive.read_bytes()


def test_truncated_download_is_resumed_with_range(serve, k400, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the retry pause only
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    target = server.directory / "400" / "annotations" / "val.csv"
    target.write_bytes(k400["val"].read_bytes())
    size = target.stat().st_size
    with pytest.raises(FetchError, match="rerun to resume"):
        pull_manifest("400", splits=["val"], base_url=server.url("truncate/0.5"))
    part = manifest_dir("400") / ".incoming" / "cvdf" / ".val.csv.part"
    have = part.stat().st_size
    assert 0 < have < size
    assert not (manifest_dir("400") / "val.parquet").exists()
    cut = server.requests_matching("truncate")
    assert cut[0].range is None and all(r.range and r.range.startswith("bytes=") for r in cut[1:])  # retries resumed too
    result = pull_manifest("400", splits=["val"], base_url=server.url("files"))
    (final,) = server.requests_matching("^/files/")
    assert final.range == f"bytes={have}-" and final.status == 206 and final.bytes_sent == size - have
    assert server.bytes_sent() == size  # not one byte fetched twice
    assert result.files[0].sha256 == sha256(k400["val"]) and len(result.manifest) == 19_906
    assert not part.exists()


def test_checksum_mismatch_leaves_the_cache_untouched(serve, k400):
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    served = server.directory / "400" / "annotations" / "val.csv"
    served.write_bytes(k400["val"].read_bytes())
    good = cvdf_registry({"val": {"path": "400/annotations/val.csv", "sha256": sha256(k400["val"])}})
    pull_manifest("400", base_url=server.url("files"), registry=good)
    cache = manifest_dir("400")
    before = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    served.write_bytes(k400["val"].read_bytes().replace(b"abseiling", b"abseilinG", 1))  # a changed upstream file
    with pytest.raises(ChecksumError, match="does not match the expected") as err:
        pull_manifest("400", base_url=server.url("files"), registry=good)
    assert "was left as it was" in str(err.value) and server.url("files/400/annotations/val.csv") in str(err.value)
    after = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    assert after == before  # no part file, no raw file, no parquet changed
    assert len(load_manifest("400", "val", registry=good)) == 19_906


def test_wrong_row_count_or_labels_fail_verification(serve, k400):
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    (server.directory / "400" / "annotations" / "val.csv").write_bytes(k400["val"].read_bytes())
    (server.directory / "400" / "annotations" / "test.csv").write_bytes(k400["test"].read_bytes())
    with pytest.raises(ManifestError, match="expected 19905 rows for val, got 19906"):
        pull_manifest("400", base_url=server.url("files"), registry=cvdf_registry({"val": {"path": "400/annotations/val.csv", "rows": 19_905}}))
    with pytest.raises(ManifestError, match="38685 rows have no label"):
        pull_manifest("400", base_url=server.url("files"), registry=cvdf_registry({"test": {"path": "400/annotations/test.csv", "labelled": True}}))
    with pytest.raises(ManifestError, match=r"expected only split 'train', found \['val'\]"):
        pull_manifest("400", base_url=server.url("files"), registry=cvdf_registry({"train": {"path": "400/annotations/val.csv"}}))
    assert not list(manifest_dir("400").glob("*.parquet")) and not list((manifest_dir("400") / ".incoming").rglob("*.csv"))


def test_http_errors_and_unserved_splits_are_clear(serve):
    server = serve()
    with pytest.raises(FetchError, match=r"/files/400/annotations/val.csv: HTTP 404"):
        pull_manifest("400", splits=["val"], base_url=server.url("files"))
    with pytest.raises(ManifestError, match="incomplete"):
        pull_manifest("600", source="cvdf", splits=["train"], base_url=server.url("files"))
    with pytest.raises(ManifestError, match="serves no Kinetics-700 annotations"):
        pull_manifest("700", source="cvdf", base_url=server.url("files"))
    with pytest.raises(ManifestError, match="got '500'"):
        load_manifest("500")


def test_flaky_server_is_retried(serve, k400, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    (server.directory / "400" / "annotations" / "val.csv").write_bytes(k400["val"].read_bytes())
    result = pull_manifest("400", splits=["val"], base_url=server.url("flaky/503/2"))
    assert len(result.manifest) == 19_906
    assert [r.status for r in server.requests] == [503, 503, 200]


def test_import_to_out_writes_our_parquet(tmp_path, k400):
    from kinetics.manifests.sources import import_manifest

    result = import_manifest(k400["validate"], out=tmp_path / "v.parquet")
    assert result.known is not None and result.known.rows == 17_778  # recognised by sha256
    again = Manifest.from_file(result.paths[0])
    direct = Manifest.from_file(k400["validate"], version="400")
    for column in ("clip_id", "label", "label_index", "split", "version"):
        assert again.table.column(column).to_pylist() == direct.table.column(column).to_pylist(), column
    assert not list(manifest_dir("400").glob("*.parquet"))  # --out does not touch the cache
