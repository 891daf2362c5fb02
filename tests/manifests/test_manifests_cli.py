"""``kinetics manifests ...`` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from kinetics.cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_list_show(capsys, shared_data):
    val = shared_data / "kinetics600" / "kinetics-600_val.csv"
    code, out, err = run_cli(capsys, "manifests", "import", str(val), "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["rows_read"] == 30_000 and result["recognised_as"]["version"] == "600" and result["splits"] == ["val"]
    code, out, _ = run_cli(capsys, "manifests", "list", "--json")
    listed = {row["version"]: row for row in json.loads(out)}
    assert listed["600"]["cached"]["val"]["rows"] == 30_000 and listed["400"]["cached"] == {}
    assert (listed["600"]["cached"]["val"]["source"], listed["600"]["cached"]["val"]["url"]) == ("import", str(val))
    assert listed["600"]["default_source"] == "deepmind"
    code, out, _ = run_cli(capsys, "manifests", "list")
    assert code == 0 and "val 30,000 (import)" in out
    code, out, _ = run_cli(capsys, "manifests", "show", "600", "--split", "validate", "--json")
    shown = json.loads(out)
    assert shown["splits"] == {"val": {"rows": 30_000, "labelled": 30_000, "youtube_ids": 29_994}} and shown["classes"] == 600
    code, out, _ = run_cli(capsys, "manifests", "show", str(shared_data / "kinetics400" / "kinetics-400_test.csv"))
    assert code == 0 and "38,685 clips" in out and "0 labelled" in out


def test_import_problems_warn_or_fail_with_strict(capsys, tmp_path):
    bad = tmp_path / "mine.csv"
    bad.write_text("label,youtube_id,time_start,time_end,split\na,aaaaaaaaaaa,0,10,train\na,bad id,0,10,train\na,aaaaaaaaaaa,0,10,train\n")
    out_path = tmp_path / "mine.parquet"
    code, out, err = run_cli(capsys, "manifests", "import", str(bad), "--out", str(out_path))
    assert code == 0 and out == "" and out_path.is_file()
    assert f"skipped {bad}:3: youtube_id must be 11 characters" in err and "1 duplicate rows dropped" in err
    code, out, err = run_cli(capsys, "manifests", "import", str(bad), "--strict")
    assert code == 1 and f"{bad}:3" in err and err.startswith("kinetics: error:")
    code, out, err = run_cli(capsys, "manifests", "import", str(tmp_path / "absent.csv"))
    assert code == 1 and "absent.csv" in err


@pytest.mark.network_loopback
def test_pull_through_the_cli(capsys, serve, shared_data):
    server = serve()
    (server.directory / "400" / "annotations").mkdir(parents=True)
    (server.directory / "400" / "annotations" / "val.csv").write_bytes((shared_data / "kinetics400" / "kinetics-400_val.csv").read_bytes())
    code, out, err = run_cli(capsys, "manifests", "pull", "--version", "400", "--split", "val", "--base-url", server.url("files"))
    assert (code, out, err) == (0, "", "")  # quiet on success
    code, out, _ = run_cli(capsys, "manifests", "pull", "--version", "400", "--split", "val", "--base-url", server.url("files"), "--json")
    assert json.loads(out)["files"][0]["rows_read"] == 19_906
    code, _, err = run_cli(capsys, "manifests", "pull", "--version", "400", "--split", "train", "--base-url", server.url("files"))
    assert code == 1 and "HTTP 404" in err and "train.csv" in err


@pytest.mark.parametrize("verb", [["manifests"], ["manifests", "pull"], ["manifests", "import"], ["status"], ["audit"], ["doctor"]])
def test_help_has_worked_examples(capsys, verb):
    with pytest.raises(SystemExit) as exit_:
        main([*verb, "--help"])
    out, _ = capsys.readouterr()
    assert exit_.value.code == 0 and "examples:" in out and "kinetics " + verb[0] in out
