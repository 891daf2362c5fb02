"""A disk that fills while yt-dlp fetches a section is a full disk, not a failed clip.

The corpus root is on a small tmpfs, filled up to a few KB before the run: the first section
yt-dlp's ffmpeg writes runs out of room. The run must stop (exit 1, naming the full disk), record
no clip as failed, and a plain re-run after space is freed must fetch every clip.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.files import is_temp_name

pytestmark = pytest.mark.network_loopback


@pytest.fixture
def small_disk(tmpfs):
    return tmpfs("6m")


def fill(mountpoint: Path, *, leave_bytes: int) -> Path:
    """Fill the filesystem until about ``leave_bytes`` are free."""
    filler = mountpoint / "filler"
    free = shutil.disk_usage(mountpoint).free
    with open(filler, "wb") as handle:
        handle.write(b"\xff" * max(0, free - leave_bytes))
    return filler


@pytest.fixture
def exit_one_ffmpeg(tmp_path):
    """The real ffmpeg, run through a script that exits 1 on any failure, as ffmpeg < 7 does (Debian 12's
    5.1 exits 1 on a full disk): then yt-dlp says only "ffmpeg exited with code 1"."""
    from kinetics.ffmpeg import find_ffmpeg

    real = find_ffmpeg().path
    script = tmp_path / "bin" / "ffmpeg-exit-1"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\n"{real}" "$@"\nstatus=$?\n[ $status -eq 0 ] || exit 1\n')
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("jobs, plain_exit", [("1", False), ("2", True)])
def test_a_disk_full_while_fetching_stops_the_run_and_records_no_failure(small_disk, tmp_path, clip_factory, serve, capsys, jobs,
                                                                          plain_exit, exit_one_ffmpeg):
    server = serve()
    shutil.copy(clip_factory(seconds=12, fps=25, width=320, height=240, audio=True, gop=25), server.directory / "A.mp4")
    rows = []
    for n in range(4):
        youtube_id = f"full{n:07d}"
        server.rewrites = {**server.rewrites, f"/v/{youtube_id}": "/files/A.mp4"}
        rows.append(["full", youtube_id, 2 * n, 2 * n + 3, "train"])
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as handle:
        csv.writer(handle).writerows([["label", "youtube_id", "time_start", "time_end", "split"], *rows])
    root = small_disk / "root"
    args = ["download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
            "--short-side", "96", "--preset", "ultrafast", "--max-attempts", "1", "--jobs", jobs]
    if plain_exit:
        args += ["--ffmpeg", str(exit_one_ffmpeg)]
    root.mkdir()
    filler = fill(small_disk, leave_bytes=48_000)  # room for the index, not for a section
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err, err
    state = CorpusIndex(root).clip_state().to_pandas()
    assert not (state.status == "failed").any(), state[["clip_id", "status", "reason", "message"]]
    assert not [p for p in root.rglob("*") if is_temp_name(p.name)]
    filler.unlink()
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    state = CorpusIndex(root).clip_state().to_pandas()
    assert len(state) == 4 and (state.status == "ok").all(), state[["clip_id", "status", "reason", "message"]]
