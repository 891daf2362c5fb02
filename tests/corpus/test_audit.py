"""``kinetics audit`` over a real corpus with every kind of damage, shallow and deep, with and without --fix."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from kinetics.cli.main import main
from kinetics.corpus.audit import AuditOptions, audit
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.reconcile import reconcile

# name: (split, label, what we do to it, outcome of a shallow audit, outcome of a deep audit)
CASES = {
    "h1": ("train", "abseiling", "ok", "ok", "ok"),
    "h2": ("train", "abseiling", "ok", "ok", "ok"),
    "h3": ("train", "air drumming", "ok", "ok", "ok"),
    "vanished": ("train", "abseiling", "ok, then delete the file", "vanished", "vanished"),
    "zero": ("train", "air drumming", "ok, then empty the file", "zero_byte", "zero_byte"),
    "trunc": ("train", "air drumming", "ok, then cut the file in half", "truncated", "truncated"),
    "garbage": ("train", "zumba", "ok, then overwrite with noise of the same size", "ok", "undecodable"),
    "long": ("train", "zumba", "ok, a 4 s file for a 2 s window recorded as 2 s", "ok", "wrong_duration"),
    "toolong": ("train", "zumba", "ok, index records 6 s for a 2 s window", "wrong_duration", "wrong_duration"),
    "unavailable": ("train", "abseiling", "missing/unavailable", "unavailable", "unavailable"),
    "throttled": ("train", "zumba", "failed/throttled", "throttled", "throttled"),
    "adoptable": ("train", "air drumming", "no record; a valid file where it belongs", "pending", "pending"),
    "badstray": ("train", "zumba", "no record; noise where it belongs", "pending", "pending"),
    "pending": ("train", "zumba", "no record, no file", "pending", "pending"),
    "misfiled": ("train", "abseiling", "no record; a valid file under another label", "pending", "pending"),
    "v1": ("val", "abseiling", "ok", "ok", "ok"),
    "v2": ("val", "abseiling", "ok", "ok", "ok"),
    "vpending": ("val", "abseiling", "no record", "pending", "pending"),
    "t1": ("test", None, "ok", "ok", "ok"),
}
BROKEN = {"vanished", "zero_byte", "truncated", "undecodable", "wrong_duration"}


def noise(path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes((i * 7919) % 251 for i in range(size)))


@pytest.fixture
def damaged(corpus):
    rows = {name: corpus.target(split, label) for name, (split, label, *_) in CASES.items()}
    corpus.commit_targets()
    for name in ("h1", "h2", "h3", "v1", "v2", "t1", "vanished", "zero", "trunc", "garbage"):
        corpus.ok(rows[name])
    corpus.ok(rows["long"], seconds=4.0, duration=2.0)
    corpus.ok(rows["toolong"], duration=6.0)
    (corpus.root / corpus.relpath(rows["vanished"])).unlink()
    (corpus.root / corpus.relpath(rows["zero"])).write_bytes(b"")
    trunc = corpus.root / corpus.relpath(rows["trunc"])
    trunc.write_bytes(trunc.read_bytes()[: trunc.stat().st_size // 2])
    garbage = corpus.root / corpus.relpath(rows["garbage"])
    noise(garbage, garbage.stat().st_size)
    corpus.record(rows["unavailable"], "missing", reason="unavailable", message="Video unavailable")
    corpus.record(rows["throttled"], "failed", reason="throttled", message="HTTP Error 429")
    corpus.place(rows["adoptable"])
    noise(corpus.root / corpus.relpath(rows["badstray"]), 3000)
    corpus.place(rows["misfiled"], relpath=f"train/zumba/{rows['misfiled']['clip_id']}.mp4")
    (corpus.root / "train" / "abseiling" / "notes.txt").write_text("mine")
    (corpus.root / "train" / "abseiling" / f".{rows['h1']['clip_id']}.mp4.0123abcd.part").write_bytes(b"half")
    extra = corpus.target("val", "abseiling", record_target=False)
    corpus.ok(extra)
    corpus.names = {row["clip_id"]: name for name, row in rows.items()}
    corpus.rows_by_name = rows
    corpus.extra = extra
    return corpus


def expected_split(split: str, mode: int) -> dict:
    outcomes = [case[mode] for case in CASES.values() if case[0] == split]
    return {
        "targets": len(outcomes),
        "ok": outcomes.count("ok"),
        "pending": outcomes.count("pending"),
        "broken": sum(o in BROKEN for o in outcomes),
    }


@pytest.mark.parametrize("deep", [False, True], ids=["shallow", "deep"])
def test_every_kind_of_damage_is_counted(damaged, deep):
    report = audit(AuditOptions(root=damaged.root, deep=deep))
    mode = 4 if deep else 3
    for summary in report.splits:
        assert {k: getattr(summary, k) if k != "broken" else sum(summary.broken.values()) for k in ("targets", "ok", "pending", "broken")} == expected_split(summary.split, mode), summary.split
    train = next(s for s in report.splits if s.split == "train")
    assert train.missing == {"unavailable": 1} and train.failed == {"throttled": 1}
    reasons = {damaged.names[i.clip_id]: i.reason for i in report.issues}
    expected = {name: case[mode] for name, case in CASES.items() if case[mode] != "ok"}
    assert reasons == expected
    assert next(s for s in report.splits if s.split == "val").extra_ok == 1
    assert report.ok_clips.num_rows == sum(c[mode] == "ok" for c in CASES.values()) + 1  # + the extra clip
    assert report.availability == pytest.approx(sum(c[mode] == "ok" for c in CASES.values()) / len(CASES))


def test_unknown_files_temp_files_and_worst_classes(damaged):
    report = audit(AuditOptions(root=damaged.root))
    files = {f.path.rsplit("/", 1)[-1]: f for f in report.unknown_files}
    adopt = damaged.rows_by_name["adoptable"]["clip_id"]
    stray = damaged.rows_by_name["badstray"]["clip_id"]
    misfiled = damaged.rows_by_name["misfiled"]["clip_id"]
    assert set(files) == {f"{adopt}.mp4", f"{stray}.mp4", f"{misfiled}.mp4", "notes.txt"}
    assert (files[f"{adopt}.mp4"].matches_target, files[f"{adopt}.mp4"].valid) == (True, True)
    assert (files[f"{stray}.mp4"].matches_target, files[f"{stray}.mp4"].valid) == (True, False)
    assert files[f"{misfiled}.mp4"].matches_target is False and files[f"{misfiled}.mp4"].clip_id == misfiled
    assert files["notes.txt"].clip_id is None
    assert [c.clip_id for c in report.adoptable] == [adopt]
    assert len(report.temp_files) == 1 and report.temp_files[0].endswith(".part")
    # per class over all audited splits: air drumming 1/4, zumba 2/6, abseiling 4/8
    assert [(c.label, c.ok, c.targets) for c in report.classes] == [("air drumming", 1, 4), ("zumba", 2, 6), ("abseiling", 4, 8)]
    text = report.format()
    assert "worst classes" in text and text.index("air drumming") < text.index("zumba")
    assert "1 valid files on disk match manifest clips" in text and "notes.txt" in text


def test_fix_reconciles_the_index_and_keeps_every_file(damaged):
    files_before = sorted(p.relative_to(damaged.root) for p in damaged.root.rglob("*") if p.is_file() and "index" not in p.parts)
    report = audit(AuditOptions(root=damaged.root))
    summary = reconcile(report)
    assert (summary.marked_corrupt, summary.adopted) == (4, 1)
    files_after = sorted(p.relative_to(damaged.root) for p in damaged.root.rglob("*") if p.is_file() and "index" not in p.parts)
    assert files_after == files_before  # nothing deleted or moved
    state = {damaged.names.get(r["clip_id"]): r for r in CorpusIndex(damaged.root).clip_state().to_pylist()}
    for name in ("vanished", "zero", "trunc", "toolong"):
        assert (state[name]["status"], state[name]["reason"], state[name]["source"]) == ("failed", "corrupt_output", "audit")
        assert state[name]["message"].startswith("audit: ")
    assert "zero_byte" in state["zero"]["message"] and "vanished" in state["vanished"]["message"]
    adopted = state["adoptable"]
    assert (adopted["status"], adopted["source"], adopted["duration"], adopted["frames"]) == ("ok", "audit", pytest.approx(2.0), 20)
    again = audit(AuditOptions(root=damaged.root))
    train = next(s for s in again.splits if s.split == "train")
    assert (train.ok, train.broken, train.pending) == (6, {}, 3)
    assert train.failed == {"corrupt_output": 4, "throttled": 1}
    # files the fix left behind are now strays: valid ones where they belong can be adopted next time
    valid = {damaged.names[f.clip_id] for f in again.unknown_files if f.matches_target and f.valid}
    assert valid == {"toolong"}  # its file is fine; only the index's duration was wrong


def test_cli_outputs_fail_under_and_deep_jobs(damaged, tmp_path, capsys):
    root = str(damaged.root)
    missing = tmp_path / "missing.csv"
    assert main(["audit", "--root", root, "--out", str(missing)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["split", "targets", "ok"]
    with open(missing, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(c[3] != "ok" for c in CASES.values())
    assert {r["clip_id"]: r["reason"] for r in rows}[damaged.rows_by_name["zero"]["clip_id"]] == "zero_byte"
    assert set(rows[0]) >= {"clip_id", "youtube_id", "label", "split", "reason"}
    assert main(["audit", "--root", root, "--split", "val", "--out", str(tmp_path / "m.parquet"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["split"] for s in data["audit"]["splits"]] == ["val"]
    assert pq.read_table(tmp_path / "m.parquet").column("reason").to_pylist() == ["pending"]
    share = sum(c[4] == "ok" for c in CASES.values()) / len(CASES)  # deep availability
    assert main(["audit", "--root", root, "--deep", "--jobs", "2", "--fail-under", f"{share + 0.01:.3f}"]) == 1
    captured = capsys.readouterr()
    assert "below --fail-under" in captured.err and "undecodable 1" in captured.out
    assert main(["audit", "--root", root, "--fail-under", f"{share - 0.01:.3f}"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["audit", "--root", root, "--fail-under", "90"])


def test_cli_fix_reports_what_it_did(damaged, capsys):
    assert main(["audit", "--root", str(damaged.root), "--fix", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["fix"]["marked_corrupt"], data["fix"]["adopted"]) == (4, 1)
    assert data["audit"]["splits"][1]["failed"]["corrupt_output"] == 4


def test_missing_root_is_a_clear_error(tmp_path, capsys):
    assert main(["audit", "--root", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
