"""The resumable downloader on its own, against the loopback server (also used by `kinetics prepare`)."""

from __future__ import annotations

import hashlib

import pytest

from kinetics.errors import ChecksumError
from kinetics.fetch import FetchError, fetch, part_path

pytestmark = pytest.mark.network_loopback


@pytest.fixture
def served(serve):
    server = serve()
    payload = bytes(range(256)) * 400  # 102,400 bytes
    (server.directory / "blob.bin").write_bytes(payload)
    return server, payload


def test_a_complete_part_is_finished_without_downloading_again(served, tmp_path):
    server, payload = served
    dest = tmp_path / "blob.bin"
    part_path(dest).write_bytes(payload)  # e.g. killed between the last byte and the rename
    fetched = fetch(server.url("files/blob.bin"), dest, sha256=hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload and fetched.resumed_from_bytes == len(payload)
    assert [r.status for r in server.requests] == [416] and server.bytes_sent() == 0


def test_resume_from_a_partial_file(served, tmp_path):
    server, payload = served
    dest = tmp_path / "blob.bin"
    part_path(dest).write_bytes(payload[:1000])
    fetched = fetch(server.url("files/blob.bin"), dest)
    assert dest.read_bytes() == payload and (fetched.bytes, fetched.resumed_from_bytes) == (len(payload), 1000)
    assert server.requests[0].range == "bytes=1000-" and server.bytes_sent() == len(payload) - 1000


def test_a_bad_part_fails_its_checksum_and_is_discarded(served, tmp_path):
    server, payload = served
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"the previous good copy")
    part_path(dest).write_bytes(b"X" * 1000)  # garbage from an earlier, different file
    with pytest.raises(ChecksumError, match="was left as it was"):
        fetch(server.url("files/blob.bin"), dest, sha256=hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == b"the previous good copy" and not part_path(dest).exists()
    assert fetch(server.url("files/blob.bin"), dest, sha256=hashlib.sha256(payload).hexdigest()).resumed_from_bytes == 0
    assert dest.read_bytes() == payload


def test_refuses_what_it_cannot_fetch(served, tmp_path):
    server, _ = served
    with pytest.raises(FetchError, match="only http"):
        fetch("file:///etc/passwd", tmp_path / "x")
    with pytest.raises(FetchError, match="HTTP 403"):
        fetch(server.url("status/403/blob.bin"), tmp_path / "x", attempts=1)
    assert not (tmp_path / "x").exists()


def test_a_second_fetch_of_the_same_file_waits_for_the_first(served, tmp_path):
    """Two `manifests pull` runs of one version must not write into one part file together."""
    import threading

    from kinetics.fetch import exclusive

    server, payload = served
    dest = tmp_path / "out" / "blob.bin"
    results = []
    dest.parent.mkdir()
    with exclusive(part_path(dest)):  # as another process would, mid-download
        waiting = threading.Thread(target=lambda: results.append(fetch(server.url("files/blob.bin"), dest)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and server.requests == [] and not part_path(dest).exists()
    waiting.join(10)
    assert not waiting.is_alive() and dest.read_bytes() == payload and results[0].bytes == len(payload)
    assert list(dest.parent.iterdir()) == [dest]  # no part, no lock file left beside it
