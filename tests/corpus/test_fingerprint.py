"""Fingerprints: write, read back (ours and readers.py agree), compare, and use as a download manifest."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from kinetics.cli.main import main
from kinetics.corpus.audit import AuditOptions, audit
from kinetics.corpus.fingerprint import Fingerprint, compare_fingerprint, fingerprint_of, write_fingerprint
from kinetics.errors import ManifestError
from kinetics.manifests.readers import Manifest


@pytest.fixture
def small(corpus):
    rows = [corpus.target("train", label) for label in ("abseiling", "air drumming", "zumba", "zumba")]
    rows.append(corpus.target("val", "abseiling", start=1.5, end=3.5))  # a window that is not whole seconds
    rows.append(corpus.target("test", None))
    rows.append(corpus.target("train", "air drumming"))  # never downloaded
    corpus.commit_targets()
    for row in rows[:-1]:
        corpus.ok(row)
    corpus.rows_list = rows
    return corpus


def test_round_trip_gz_and_hash_recomputable(small, tmp_path):
    report = audit(AuditOptions(root=small.root))
    written = write_fingerprint(report, tmp_path / "fp.json.gz")
    data = json.loads(gzip.decompress((tmp_path / "fp.json.gz").read_bytes()))
    assert data["kind"] == "kinetics-fingerprint" and data["counts"] == {"test": 1, "train": 4, "val": 1}
    assert data["version"] == "400" and data["classes"] == ["abseiling", "air drumming", "zumba"]
    lines = sorted(
        f"{split}\t{c if isinstance(c, str) else c['clip_id']}\t{'' if isinstance(c, str) else c['label'] or ''}\n"
        for split, clips in data["splits"].items() for c in clips
    )
    assert data["hash"] == "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()  # without our code
    assert Fingerprint.from_file(tmp_path / "fp.json.gz").digest == written.digest == data["hash"]
    val = data["splits"]["val"][0]
    assert (val["time_start"], val["time_end"]) == (1.5, 3.5)
    assert isinstance(data["splits"]["test"][0], str)  # unlabelled clips are bare ids


def test_readers_turn_a_fingerprint_into_the_same_manifest(small, tmp_path):
    report = audit(AuditOptions(root=small.root))
    write_fingerprint(report, tmp_path / "fp.json")
    manifest = Manifest.from_file(tmp_path / "fp.json")
    ok = report.ok_clips
    assert sorted(manifest.table.column("clip_id").to_pylist()) == sorted(ok.column("clip_id").to_pylist())
    got = {r["clip_id"]: (r["label"], r["label_index"], r["split"], r["time_start"], r["time_end"], r["version"]) for r in manifest.table.to_pylist()}
    want = {r["clip_id"]: (r["label"], r["label_index"], r["split"], r["time_start"], r["time_end"], "400") for r in ok.to_pylist()}
    assert got == want
    assert manifest.classes == ["abseiling", "air drumming", "zumba"]


def test_tampered_fingerprint_is_refused(small, tmp_path):
    write_fingerprint(audit(AuditOptions(root=small.root)), tmp_path / "fp.json")
    data = json.loads((tmp_path / "fp.json").read_text())
    data["splits"]["train"] = data["splits"]["train"][1:]
    (tmp_path / "fp.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="does not match its hash"):
        Fingerprint.from_file(tmp_path / "fp.json")
    with pytest.raises(ManifestError, match="does not match its hash"):
        Manifest.from_file(tmp_path / "fp.json")


def test_compare_two_corpora(small, tmp_path, capsys):
    theirs = write_fingerprint(audit(AuditOptions(root=small.root)), tmp_path / "theirs.json.gz")
    # our copy lost one train clip and gained the one they never got
    lost, gained = small.rows_list[0], small.rows_list[-1]
    (small.root / small.relpath(lost)).unlink()
    small.ok(gained)
    report = audit(AuditOptions(root=small.root))
    diff = compare_fingerprint(report, tmp_path / "theirs.json.gz")
    train = next(d for d in diff.splits if d.split == "train")
    assert (train.lacking, train.extra, train.ours, train.theirs) == ((lost["clip_id"],), (gained["clip_id"],), 4, 4)
    assert not diff.same and all(not (d.lacking or d.extra) for d in diff.splits if d.split != "train")
    assert compare_fingerprint(theirs, theirs).same
    assert main(["audit", "--root", str(small.root), "--compare", str(tmp_path / "theirs.json.gz")]) == 0
    out = capsys.readouterr().out
    assert f"train: lacking e.g. {lost['clip_id']}" in out and "kinetics download --manifest" in out
    assert main(["audit", "--root", str(small.root), "--fingerprint", str(tmp_path / "ours.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fingerprint"]["counts"] == {"test": 1, "train": 4, "val": 1}
    assert data["fingerprint"]["hash"] == Fingerprint.from_file(tmp_path / "ours.json").digest != theirs.digest


@pytest.mark.network_loopback
def test_download_fetches_exactly_a_published_fingerprint(serve, clip_factory, tmp_path, capsys):
    """Someone publishes a fingerprint; `kinetics download --manifest` rebuilds exactly that corpus."""
    pytest.importorskip("kinetics.download.run")
    server = serve()
    ids = ["aaaaaaaaaa1", "bb-bbbbbbb2", "cc_cccccc-3", "dddddddddd4"]
    for youtube_id in ids:
        (server.directory / f"{youtube_id}.mp4").write_bytes(clip_factory(seconds=6, fps=10, width=64, height=48, audio=False).read_bytes())
    rows = "".join(f"{'abseiling' if n % 2 else 'air drumming'},{y},1,3,train\n" for n, y in enumerate(ids))
    (tmp_path / "m.csv").write_text("label,youtube_id,time_start,time_end,split\n" + rows + "zumba,zzzzzzzzzz9,1,3,val\n")  # 404
    template = server.url("files") + "/{youtube_id}.mp4"
    common = ["--url-template", template, "--max-attempts", "1", "--json"]
    assert main(["download", "--root", str(tmp_path / "A"), "--manifest", str(tmp_path / "m.csv"), *common]) == 0
    fingerprint = write_fingerprint(audit(AuditOptions(root=tmp_path / "A")), tmp_path / "A.fingerprint.json.gz")
    assert fingerprint.counts == {"train": 4}  # the val clip was unavailable
    assert main(["download", "--root", str(tmp_path / "B"), "--manifest", str(tmp_path / "A.fingerprint.json.gz"), *common]) == 0
    capsys.readouterr()
    rebuilt = fingerprint_of(audit(AuditOptions(root=tmp_path / "B")))
    assert rebuilt.splits == fingerprint.splits and rebuilt.digest == fingerprint.digest
    assert compare_fingerprint(rebuilt, fingerprint).same
