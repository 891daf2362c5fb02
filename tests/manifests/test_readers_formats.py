"""Every manifest format and every validation rule, on small files written by the tests."""

from __future__ import annotations

import csv
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kinetics.errors import ManifestError
from kinetics.manifests.readers import Manifest
from kinetics.manifests.schema import MANIFEST_SCHEMA, ManifestRow, clip_id_for, parse_clip_id

HEADER = "label,youtube_id,time_start,time_end,split\n"


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def real_rows(shared_data, n: int) -> list[dict]:
    with open(shared_data / "kinetics400" / "kinetics-400_val.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:: len(rows) // n][:n]


def test_quoted_labels_commas_and_is_cc(tmp_path):
    path = write(tmp_path / "k.csv", 'label,youtube_id,time_start,time_end,split,is_cc\n'
                 '"air drumming",0wR5jVB-WPk,417,427,val,0\n'
                 '"passing American football (in game), then more",3caPS4FHFF8,36,46,val,1\n'
                 "massaging person's head,--6bJUbfpnQ,17,27,val,0\n")
    manifest = Manifest.from_file(path)
    assert manifest.table.column("label").to_pylist() == [
        "air drumming", "passing American football (in game), then more", "massaging person's head"]
    assert manifest.table.column("clip_id").to_pylist()[2] == "--6bJUbfpnQ_000017_000027"
    assert manifest.table.schema.equals(MANIFEST_SCHEMA)


def test_test_files_without_labels(tmp_path):
    path = write(tmp_path / "test.csv", "youtube_id,time_start,time_end,split\n--6bJUbfpnQ,17,27,test\n--8YXc8iCt8,2,12,test\n")
    manifest = Manifest.from_file(path)
    assert manifest.table.column("label").to_pylist() == [None, None]
    assert manifest.table.column("label_index").to_pylist() == [-1, -1]
    assert manifest.classes == []


def test_validate_and_val_are_one_split(tmp_path):
    path = write(tmp_path / "v.csv", HEADER + "a,aaaaaaaaaaa,0,10,validate\nb,bbbbbbbbbbb,0,10,val\nc,ccccccccccc,0,10,Validation\n")
    assert Manifest.from_file(path).splits == ["val"]


def test_missing_split_column_needs_a_split(tmp_path):
    path = write(tmp_path / "nosplit.csv", "label,youtube_id,time_start,time_end\na,aaaaaaaaaaa,0,10\n")
    assert len(Manifest.from_file(path)) == 0 and "no split" in str(Manifest.from_file(path).report.problems[0])
    assert Manifest.from_file(path, split="train").splits == ["train"]


def test_json_form_matches_the_csv_it_came_from(tmp_path, shared_data):
    rows = real_rows(shared_data, 40)
    data = {
        r["youtube_id"]: {
            "annotations": {"label": r["label"], "segment": [float(r["time_start"]), float(r["time_end"])]},
            "duration": 10.0, "subset": "validate", "url": f"https://www.youtube.com/watch?v={r['youtube_id']}",
        }
        for r in rows
    }
    path = write(tmp_path / "validate.json", json.dumps(data))
    from_json = Manifest.from_file(path)
    csv_path = write(tmp_path / "val.csv", HEADER + "".join(f'"{r["label"]}",{r["youtube_id"]},{r["time_start"]},{r["time_end"]},val\n' for r in rows))
    from_csv = Manifest.from_file(csv_path)
    for column in ("clip_id", "label", "label_index", "split", "time_start", "time_end"):
        assert from_json.table.column(column).to_pylist() == from_csv.table.column(column).to_pylist(), column
    assert len(from_json) == 40


def test_json_entries_without_a_segment_are_reported(tmp_path):
    data = {"aaaaaaaaaaa": {"annotations": {"label": "x"}, "subset": "train"}, "bbbbbbbbbbb": "nonsense",
            "ccccccccccc": {"annotations": {"label": "x", "segment": [1, 11]}, "subset": "train"}}
    manifest = Manifest.from_file(write(tmp_path / "t.json", json.dumps(data)))
    assert len(manifest) == 1
    messages = [str(p) for p in manifest.report.problems]
    assert any("'aaaaaaaaaaa'" in m and "segment" in m for m in messages)
    assert any("'bbbbbbbbbbb'" in m and "not an object" in m for m in messages)


MALFORMED = {
    3: ("a,aaaaaaaaaaa,0\n", "row has 3 fields, header has 5"),
    4: ("a,aaaaaaaaaaa,zero,10,train\n", "must be numbers"),
    5: ("a,aaaaaaaaaaa,-1,9,train\n", "time_start must be >= 0"),
    6: ("a,aaaaaaaaaaa,10,10,train\n", "time_end must be greater"),
    7: ("a,aaaaaaaaaa,0,10,train\n", "11 characters"),  # 10 characters
    8: ("a,aaaaaaaaaaaa,0,10,train\n", "11 characters"),  # 12 characters
    9: ("a,aaaaa$aaaaa,0,10,train\n", "11 characters"),
    10: ("a,aaaaaaaaaaa,5,nan,train\n", "finite"),
}


def test_malformed_rows_are_reported_with_file_and_line(tmp_path):
    body = "a,bbbbbbbbbbb,0,10,train\n" + "".join(row for row, _ in MALFORMED.values()) + "a,ccccccccccc,0,10,train\n"
    path = write(tmp_path / "bad.csv", HEADER + body)
    manifest = Manifest.from_file(path)
    assert manifest.table.column("youtube_id").to_pylist() == ["bbbbbbbbbbb", "ccccccccccc"]
    problems = {p.line: p for p in manifest.report.problems}
    assert sorted(problems) == sorted(MALFORMED)
    for line, (_, words) in MALFORMED.items():
        assert words in problems[line].message, line
        assert str(problems[line]).startswith(f"{path}:{line}: ")
    assert manifest.report.rows_read == 2 + len(MALFORMED)


def test_strict_turns_problems_into_an_error_naming_lines(tmp_path):
    path = write(tmp_path / "bad.csv", HEADER + "a,aaaaaaaaaaa,0,10,train\na,bad,0,10,train\n")
    with pytest.raises(ManifestError) as err:
        Manifest.from_file(path, strict=True)
    assert f"{path}:3:" in str(err.value) and "1 malformed rows" in str(err.value)


def test_header_without_required_columns(tmp_path):
    with pytest.raises(ManifestError, match=r"h\.csv:1: header lacks column\(s\) \['time_end'\]"):
        Manifest.from_file(write(tmp_path / "h.csv", "label,youtube_id,time_start,split\n"))
    with pytest.raises(ManifestError, match="empty file"):
        Manifest.from_file(write(tmp_path / "empty.csv", ""))
    with pytest.raises(ManifestError, match="cannot read manifest"):
        Manifest.from_file(tmp_path / "absent.csv")


def test_duplicates_are_dropped_and_counted(tmp_path):
    path = write(tmp_path / "d.csv", HEADER + "a,aaaaaaaaaaa,0,10,train\na,aaaaaaaaaaa,0,10,train\n"
                 "b,aaaaaaaaaaa,0,10,train\na,aaaaaaaaaaa,20,30,train\n")
    manifest = Manifest.from_file(path)
    assert len(manifest) == 2 and manifest.report.duplicates == 2
    # the same clip with another label is a duplicate *and* a problem: the first label is kept
    assert [p.line for p in manifest.report.problems] == [4]
    assert manifest.table.column("label").to_pylist() == ["a", "a"]


def test_gzipped_csv_and_json(tmp_path):
    text = HEADER + "a,aaaaaaaaaaa,0,10,train\n"
    (tmp_path / "m.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert Manifest.from_file(tmp_path / "m.csv.gz").table.column("clip_id").to_pylist() == ["aaaaaaaaaaa_000000_000010"]
    data = {"aaaaaaaaaaa": {"annotations": {"label": "a", "segment": [0, 10]}, "subset": "train"}}
    (tmp_path / "m.json.gz").write_bytes(gzip.compress(json.dumps(data).encode()))
    assert len(Manifest.from_file(tmp_path / "m.json.gz")) == 1


def test_parquet_round_trip_and_foreign_tables(tmp_path, shared_data):
    source = Manifest.from_file(shared_data / "kinetics700" / "kinetics-700_val.csv")
    written = source.to_parquet(tmp_path / "m.parquet")
    again = Manifest.from_file(written)
    assert again.table.equals(source.table.cast(MANIFEST_SCHEMA))
    foreign = pa.table({"youtube_id": ["aaaaaaaaaaa", "bad"], "time_start": [1, 2], "time_end": [11, 12],
                        "label": ["x", "y"], "split": ["train", "train"]})
    pq.write_table(foreign, tmp_path / "foreign.parquet")
    manifest = Manifest.from_file(tmp_path / "foreign.parquet")
    assert len(manifest) == 1 and manifest.report.problems[0].line == 2
    assert set(manifest.table.column("version").to_pylist()) == {"custom"}


def test_fractional_times_and_clip_ids():
    assert clip_id_for("-abcdefghij", 1.5, 11.2) == "-abcdefghij_000001_000012"
    assert parse_clip_id("a_b-c_d_e_f_000001_000012") == ("a_b-c_d_e_f", 1, 12)  # ids may hold '_'
    with pytest.raises(ValueError):
        parse_clip_id("short_000001_000012")
    with pytest.raises(ValueError, match="time_end must be greater"):
        ManifestRow("aaaaaaaaaaa", 5, 5, "train")


def test_explicit_class_list_and_with_classes(tmp_path):
    path = write(tmp_path / "c.csv", HEADER + "b,aaaaaaaaaaa,0,10,train\nd,bbbbbbbbbbb,0,10,train\n")
    manifest = Manifest.from_file(path)
    assert manifest.table.column("label_index").to_pylist() == [0, 1]
    wider = manifest.with_classes(["a", "b", "c", "d"])
    assert wider.table.column("label_index").to_pylist() == [1, 3] and wider.classes == ["a", "b", "c", "d"]
    with pytest.raises(ManifestError, match="not in the class list"):
        manifest.with_classes(["b"])
    assert Manifest.from_file(path, classes=["d", "b"]).table.column("label_index").to_pylist() == [1, 0]


CLEAN = {
    "quoted": HEADER + '"air drumming",0wR5jVB-WPk,417,427,val\n"a, b",3caPS4FHFF8,36.5,46,val\n',
    "bom_and_spaces": "\ufeff" + HEADER + " x , 0wR5jVB-WPk , 1 , 11 , Validate \n",
    "same_label_duplicates": HEADER + "a,aaaaaaaaaaa,0,10,train\na,aaaaaaaaaaa,0,10,train\nb,bbbbbbbbbbb,0,10,train\n",
    "unlabelled": "youtube_id,time_start,time_end,split\n--6bJUbfpnQ,17,27,test\n",
    "numeric_looking_id": HEADER + "a,00123456789,0,10,train\n",
    "empty_label": HEADER + ",aaaaaaaaaaa,0,10,train\n",
}
DOUBTFUL = {
    "bad_id": HEADER + "a,aaaa,0,10,train\n",
    "ragged": HEADER + "a,aaaaaaaaaaa,0,10\n",
    "conflicting_duplicate": HEADER + "a,aaaaaaaaaaa,0,10,train\nb,aaaaaaaaaaa,0,10,train\n",
    "end_before_start": HEADER + "a,aaaaaaaaaaa,10,5,train\n",
}


@pytest.mark.parametrize("name", sorted(CLEAN) + sorted(DOUBTFUL))
def test_vectorised_and_row_by_row_readers_agree(tmp_path, name):
    import io

    from kinetics.manifests.fastcsv import read_clean_csv
    from kinetics.manifests.readers import _csv_rows

    text = CLEAN.get(name) or DOUBTFUL[name]
    path = write(tmp_path / f"{name}.csv", text)
    fast = read_clean_csv(path.read_bytes(), version="400", split=None, classes=None)
    assert (fast is not None) == (name in CLEAN)
    slow = Manifest._build(_csv_rows(io.StringIO(text.lstrip("\ufeff"), newline=""), str(path)), str(path), version="400")
    chosen = Manifest.from_file(path, version="400")
    assert chosen.table.equals(slow.table)
    assert (chosen.report.rows_read, chosen.report.duplicates, len(chosen.report.problems)) == (
        slow.report.rows_read, slow.report.duplicates, len(slow.report.problems))


def test_both_readers_agree_on_real_files(shared_data):
    import io

    from kinetics.manifests.readers import _csv_rows

    for path in (shared_data / "kinetics400" / "kinetics-400_val.csv", shared_data / "kinetics700_2020" / "kinetics-700_2020_val.csv"):
        slow = Manifest._build(_csv_rows(io.StringIO(path.read_text(), newline=""), str(path)), str(path))
        fast = Manifest.from_file(path)
        assert fast.table.equals(slow.table) and fast.classes == slow.classes, path.name
