"""Safe, resumable extraction of real RAR (read by the unrar library) and ZIP archives."""

from __future__ import annotations

import os
import zipfile
import zlib

import pytest
from rar4 import rar4_bytes, write_rar4
from unrar.cffi import rarfile

from kinetics.data.archives import ArchiveError, UnsafeArchiveError, extract_archive, list_members, member_relpath


def test_the_test_rar_writer_is_read_back_by_unrar(tmp_path):
    members = {"UCF-101/YoYo/v_YoYo_g01_c01.avi": os.urandom(3000), "notes.txt": b"", "a/b/c.bin": b"x" * 70000}
    path = write_rar4(tmp_path / "t.rar", members)
    archive = rarfile.RarFile(path)
    assert archive.testrar() is None  # every CRC checks out
    assert archive.namelist() == list(members)
    assert [archive.read(name) for name in members] == list(members.values())
    assert [i.CRC for i in archive.infolist()] == [zlib.crc32(d) for d in members.values()]


def test_rar_extraction_strips_the_top_directory_and_resumes(tmp_path):
    members = {"UCF-101/A/v_A_g01_c01.avi": b"a" * 5000, "UCF-101/B/v_B_g01_c01.avi": b"b" * 10, "UCF-101/": b""}
    archive = write_rar4(tmp_path / "UCF101.rar", members)
    first = extract_archive(archive, tmp_path / "out", archive_format="rar", strip_components=1)
    assert (first.extracted, first.skipped, first.bytes_written) == (2, 0, 5010)  # "UCF-101/" strips to nothing
    assert (tmp_path / "out/A/v_A_g01_c01.avi").read_bytes() == b"a" * 5000
    (tmp_path / "out/B/v_B_g01_c01.avi").unlink()  # as if the first run had been cut off
    second = extract_archive(archive, tmp_path / "out", archive_format="rar", strip_components=1)
    assert (second.extracted, second.skipped) == (1, 1)
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # no temporary files left behind


@pytest.mark.parametrize("hostile", ["../evil", "UCF-101/../../evil", "/tmp/evil", "C:\\evil", "a\\..\\..\\evil"])
def test_a_hostile_rar_member_refuses_the_whole_archive(tmp_path, hostile):
    archive = write_rar4(tmp_path / "bad.rar", {"UCF-101/A/ok.avi": b"fine", hostile: b"gotcha"})
    with pytest.raises(UnsafeArchiveError, match="refusing member") as caught:
        extract_archive(archive, tmp_path / "root" / "out", archive_format="rar")
    assert "evil'" in str(caught.value)  # the message names the member (unrar shows "\\" as "/")
    assert not (tmp_path / "root").exists() and not (tmp_path / "evil").exists()


def test_member_paths_are_normalised():
    assert str(member_relpath("UCF-101\\A\\v.avi", strip_components=1)) == "A/v.avi"
    assert member_relpath("UCF-101/", strip_components=1) is None
    with pytest.raises(ValueError):
        member_relpath("a/\x00b")


def test_a_symlinked_directory_cannot_lead_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "A").symlink_to(outside)
    archive = write_rar4(tmp_path / "x.rar", {"A/v.avi": b"data"})
    with pytest.raises(Exception, match="escapes"):
        extract_archive(archive, tmp_path / "out", archive_format="rar")
    assert list(outside.iterdir()) == []


def test_a_corrupt_rar_member_is_never_published(tmp_path):
    archive = write_rar4(tmp_path / "c.rar", {"a.avi": b"good", "b.avi": b"bad data"}, corrupt_crc_of="b.avi")
    with pytest.raises(ArchiveError, match="'b.avi' is corrupt"):
        extract_archive(archive, tmp_path / "out", archive_format="rar")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.avi"]


def test_a_truncated_rar_is_an_error_naming_the_member(tmp_path):
    data = rar4_bytes({"a.avi": b"1" * 4000, "b.avi": b"2" * 4000})
    (tmp_path / "t.rar").write_bytes(data[: len(data) - 3000])
    with pytest.raises(ArchiveError, match="'b.avi' is corrupt or truncated"):
        extract_archive(tmp_path / "t.rar", tmp_path / "out", archive_format="rar")
    assert not (tmp_path / "out" / "b.avi").exists()
    (tmp_path / "empty.rar").write_bytes(data[:30])
    with pytest.raises(ArchiveError, match="no members"):
        list_members(tmp_path / "empty.rar", "rar")


def test_zip_extraction_checks_names_and_crcs(tmp_path):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr("ucfTrainTestlist/classInd.txt", "1 A\r\n")
        zf.writestr("ucfTrainTestlist/", "")
    report = extract_archive(tmp_path / "s.zip", tmp_path / "splits", archive_format="zip", strip_components=1)
    assert report.extracted == 1 and (tmp_path / "splits/classInd.txt").read_bytes() == b"1 A\r\n"

    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../evil", "x")
    with pytest.raises(UnsafeArchiveError, match="'../evil'"):
        extract_archive(tmp_path / "evil.zip", tmp_path / "splits", archive_format="zip")

    with zipfile.ZipFile(tmp_path / "crc.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("f.txt", "hello world")
    raw = (tmp_path / "crc.zip").read_bytes()
    (tmp_path / "crc.zip").write_bytes(raw.replace(b"hello world", b"HELLO world", 1))
    with pytest.raises(ArchiveError, match="'f.txt' is corrupt"):
        extract_archive(tmp_path / "crc.zip", tmp_path / "crc", archive_format="zip")
    assert not (tmp_path / "crc" / "f.txt").exists()
