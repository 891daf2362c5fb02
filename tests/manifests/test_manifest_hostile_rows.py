"""Hostile manifest rows (issue 13, item 8): every one is reported with file:line, never a raw crash."""

from __future__ import annotations

import json

import pytest

from kinetics.errors import ManifestError
from kinetics.manifests.readers import Manifest
from kinetics.manifests.schema import is_youtube_id, parse_clip_id

HEADER = "label,youtube_id,time_start,time_end,split\n"


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_huge_times_are_a_row_problem_not_an_arrow_error(tmp_path):
    path = write(tmp_path / "big.csv", HEADER + "a,aaaaaaaaaaa,1e19,2e19,train\nb,bbbbbbbbbbb,1,11,train\n")
    manifest = Manifest.from_file(path)
    assert manifest.table.column("clip_id").to_pylist() == ["bbbbbbbbbbb_000001_000011"]
    problems = [str(p) for p in manifest.report.problems]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:2: ") and "1e+19" in problems[0]


def test_huge_times_from_json_are_a_row_problem(tmp_path):
    path = write(tmp_path / "big.json", json.dumps({"aaaaaaaaaaa": {"annotations": {"label": "a", "segment": [1e19, 2e19]}, "subset": "train"}}))
    manifest = Manifest.from_file(path)
    assert len(manifest) == 0 and "seconds" in str(manifest.report.problems[0])


def test_a_10_mb_label_names_file_and_line(tmp_path):
    path = write(tmp_path / "label.csv", HEADER + "a,aaaaaaaaaaa,1,11,train\n" + "x" * 10_000_000 + ",bbbbbbbbbbb,1,11,train\n")
    with pytest.raises(ManifestError) as caught:
        Manifest.from_file(path)
    assert f"{path}:3" in str(caught.value)


def test_a_long_label_within_the_csv_limit_is_a_row_problem(tmp_path):
    path = write(tmp_path / "label.csv", HEADER + "a,aaaaaaaaaaa,1,11,train\n" + "x" * 5000 + ",bbbbbbbbbbb,1,11,train\n")
    manifest = Manifest.from_file(path)
    assert len(manifest) == 1 and manifest.classes == ["a"]
    assert str(manifest.report.problems[0]).startswith(f"{path}:3: label")


@pytest.mark.parametrize("bad", ["aaaaaaaaaaa\n", "aaaaaaaaaaa\r\n", "\naaaaaaaaaaa"])
def test_a_youtube_id_with_a_newline_is_refused(bad):
    assert not is_youtube_id(bad)
    manifest = Manifest.from_rows([{"youtube_id": bad, "time_start": 1, "time_end": 11, "split": "train"}])
    assert len(manifest) == 0 and "youtube_id" in str(manifest.report.problems[0])
    with pytest.raises(ValueError):
        parse_clip_id(f"{bad}_000001_000011")


def test_clip_id_parts_must_be_ascii_digits():
    with pytest.raises(ValueError):
        parse_clip_id("aaaaaaaaaaa_00000\u00b2_000011")


@pytest.mark.parametrize("suffix", ["", "\nc,ccccccccccc,1,11,train\n"])  # clean (fast reader) and not
def test_two_windows_with_one_clip_id_are_reported_with_both_lines(tmp_path, suffix):
    path = write(tmp_path / "round.csv", HEADER + "a,aaaaaaaaaaa,1.2,11.2,train\na,aaaaaaaaaaa,1.7,11.5,train\n" + suffix.lstrip("\n"))
    manifest = Manifest.from_file(path)
    assert manifest.table.column("time_start").to_pylist()[:1] == [1.2]
    assert manifest.table.column("clip_id").to_pylist().count("aaaaaaaaaaa_000001_000012") == 1
    problems = [str(p) for p in manifest.report.problems]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:3: ") and f"{path}:2" in problems[0] and "aaaaaaaaaaa_000001_000012" in problems[0]
    with pytest.raises(ManifestError, match="line|:3"):
        Manifest.from_file(path, strict=True)
