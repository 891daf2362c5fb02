"""`kinetics prepare` end to end: official-format archives served over loopback, fetched, verified, extracted."""

from __future__ import annotations

import json
import time

import pytest
from rar4 import rar4_bytes

from kinetics.cli.main import main
from kinetics.data.archives import ArchiveError, UnsafeArchiveError
from kinetics.data.prepare import FetchError, PrepareOptions, archive_sources, prepare_dataset
from kinetics.errors import ChecksumError

pytestmark = pytest.mark.network_loopback


def logged(server, pattern: str, count: int) -> list:
    """The server's log entries matching ``pattern`` once there are ``count`` of them (it logs after replying)."""
    deadline = time.monotonic() + 5
    while len(found := server.requests_matching(pattern)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def options(dataset, root, base_url, sources, **more):
    return PrepareOptions(dataset, root, base_url=base_url, sources=sources, retry_wait_seconds=0, show_progress=False, **more)


def test_registry_names_the_official_archives():
    ucf = {s.name: s for s in archive_sources("ucf101")}
    hmdb = {s.name: s for s in archive_sources("hmdb51")}
    assert ucf["UCF101.rar"].url == "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
    assert ucf["UCF101TrainTestSplits-RecognitionTask.zip"].archive_format == "zip"
    assert hmdb["hmdb51_org.rar"].nested and hmdb["hmdb51_org.rar"].url.endswith("/2013/10/hmdb51_org.rar")
    assert {s.role for s in ucf.values()} == {s.role for s in hmdb.values()} == {"videos", "splits"}


def test_prepare_ucf101_extracts_the_official_layout_and_a_rerun_fetches_nothing(tmp_path, serve, ucf_archives, checked_sources):
    server = serve(ucf_archives.directory)
    root = tmp_path / "ucf"
    sources = checked_sources("ucf101", ucf_archives.directory)
    summary = prepare_dataset(options("ucf101", root, server.url("files"), sources))
    for relpath, data in ucf_archives.videos.items():
        assert (root / relpath).read_bytes() == data
    assert (root / "UCF101/HandstandPushups/v_HandStandPushups_g01_c01.avi").is_file()
    assert (root / "ucfTrainTestlist/classInd.txt").read_bytes().endswith(b"3 YoYo\r\n")
    assert (summary.videos_listed, summary.videos_missing) == (6, 0)
    assert sum(a.extracted for a in summary.archives) == 6 + 7
    assert not list((root / "archives").glob("*.rar"))  # archives are dropped once extracted

    assert len(logged(server, "^/files/", 2)) == 2
    again = prepare_dataset(options("ucf101", root, server.url("files"), sources))
    time.sleep(0.05)
    assert all(a.already_done for a in again.archives) and len(server.requests) == 2


def test_prepare_hmdb51_through_the_cli_unpacks_rar_inside_rar(tmp_path, serve, hmdb_archives, capsys):
    server = serve(hmdb_archives.directory)
    root = tmp_path / "hmdb"
    code = main(["prepare", "hmdb51", "--root", str(root), "--base-url", server.url("files"), "--json", "--keep-archives"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for relpath, data in hmdb_archives.videos.items():
        assert (root / relpath).read_bytes() == data
    assert (root / "testTrainMulti_7030_splits/brush_hair_test_split1.txt").read_text().endswith(" 0 \n")
    assert (out["videos_listed"], out["videos_missing"]) == (6, 0)
    assert (root / "archives" / "hmdb51_org.rar").is_file()  # --keep-archives


def test_a_truncated_download_is_resumed_with_a_range_request(tmp_path, serve, ucf_archives, checked_sources):
    server = serve(ucf_archives.directory)
    root = tmp_path / "ucf"
    sources = checked_sources("ucf101", ucf_archives.directory)
    with pytest.raises(FetchError, match="connection closed after") as caught:
        prepare_dataset(options("ucf101", root, server.url("truncate/0.5"), sources, attempts=2))
    part = root / "archives" / ".UCF101.rar.part"
    kept = part.stat().st_size
    size = (ucf_archives.directory / "UCF101.rar").stat().st_size
    assert 0 < kept < size and f"resume from {kept} bytes" in str(caught.value)

    prepare_dataset(options("ucf101", root, server.url("files"), sources))
    resumed = logged(server, r"^/files/UCF101\.rar", 1)
    assert [r.range for r in resumed] == [f"bytes={kept}-"] and resumed[0].status == 206
    assert resumed[0].bytes_sent == size - kept
    assert (root / "UCF101/YoYo/v_YoYo_g02_c01.avi").read_bytes() == ucf_archives.videos["UCF101/YoYo/v_YoYo_g02_c01.avi"]


def test_a_wrong_checksum_removes_the_download_and_names_the_archive(tmp_path, serve, ucf_archives, checked_sources):
    server = serve(ucf_archives.directory)
    root = tmp_path / "ucf"
    zip_name = "UCF101TrainTestSplits-RecognitionTask.zip"
    sources = checked_sources("ucf101", ucf_archives.directory, **{zip_name: {"sha256": "0" * 64}})
    with pytest.raises(ChecksumError, match=f"/files/{zip_name}: sha256 [0-9a-f]{{64}} does not match the expected 0000"):
        prepare_dataset(options("ucf101", root, server.url("files"), sources))
    assert not list((root / "archives").glob(f"{zip_name}*"))
    assert not (root / "ucfTrainTestlist").exists()


def test_the_cli_enforces_the_registry_checksum(tmp_path, serve, ucf_archives, capsys):
    """Our miniature split ZIP is not the official one, whose sha256 the registry holds."""
    server = serve(ucf_archives.directory)
    code = main(["prepare", "ucf101", "--root", str(tmp_path / "ucf"), "--base-url", server.url("files"), "--attempts", "1"])
    assert code == 1 and "does not match the expected 5c0d1a53b8ed364a" in capsys.readouterr().err
    assert not (tmp_path / "ucf" / "ucfTrainTestlist").exists()
    code = main(["prepare", "ucf101", "--root", str(tmp_path / "ucf"), "--base-url", server.url("files"), "--no-verify"])
    assert code == 0 and (tmp_path / "ucf" / "ucfTrainTestlist" / "trainlist03.txt").is_file()


def test_transient_errors_are_retried_and_missing_files_are_not(tmp_path, serve, ucf_archives, checked_sources):
    server = serve(ucf_archives.directory)
    sources = checked_sources("ucf101", ucf_archives.directory)
    summary = prepare_dataset(options("ucf101", tmp_path / "a", server.url("flaky/503/1"), sources))
    assert summary.videos_missing == 0 and sorted(r.status for r in logged(server, "^/flaky/.*UCF101.rar", 2)) == [200, 503]

    with pytest.raises(FetchError, match=r"status/404/UCF101.rar: HTTP 404") as caught:
        prepare_dataset(options("ucf101", tmp_path / "b", server.url("status/404"), sources))
    assert str(caught.value).count("HTTP 404") == 1  # not retried


def test_a_hostile_archive_from_the_server_writes_nothing(tmp_path, serve, ucf_archives, checked_sources):
    (ucf_archives.directory / "UCF101.rar").write_bytes(rar4_bytes({"UCF-101/A/v_A.avi": b"ok", "UCF-101/../../evil": b"x"}))
    server = serve(ucf_archives.directory)
    sources = checked_sources("ucf101", ucf_archives.directory)
    with pytest.raises(UnsafeArchiveError, match="evil"):
        prepare_dataset(options("ucf101", tmp_path / "root", server.url("files"), sources))
    assert not (tmp_path / "evil").exists() and not (tmp_path / "root" / "UCF101").exists()


def test_a_corrupt_archive_is_discarded_so_that_the_next_run_fetches_it_again(tmp_path, serve, hmdb_archives, checked_sources):
    inner = rar4_bytes({"brush_hair/a.avi": b"abc"}, corrupt_crc_of="brush_hair/a.avi")
    (hmdb_archives.directory / "hmdb51_org.rar").write_bytes(rar4_bytes({"brush_hair.rar": inner}))
    server = serve(hmdb_archives.directory)
    root = tmp_path / "hmdb"
    with pytest.raises(ArchiveError, match="'brush_hair/a.avi' is corrupt.*next run fetches it again"):
        prepare_dataset(options("hmdb51", root, server.url("files"), checked_sources("hmdb51", hmdb_archives.directory)))
    assert not (root / "archives" / "hmdb51_org.rar").exists() and not (root / "archives" / "hmdb51_org.rar.d").exists()
    assert not list((root / "brush_hair").iterdir()) and not (root / "archives" / "hmdb51_org.rar.done.json").exists()
