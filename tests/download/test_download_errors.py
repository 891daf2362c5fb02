"""Bad input fails fast with an error naming the file, line, value or root; a full disk stops cleanly."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import is_temp_name
from kinetics.download.normalise import verify_clip


def _csv(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([["label", "youtube_id", "time_start", "time_end", "split"], *rows])
    return path


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["download", *args])
    return code, capsys.readouterr().err


def test_malformed_manifest_names_file_and_lines(tmp_path, capsys):
    manifest = _csv(tmp_path / "bad.csv", [["a", "aaaaaaaaaaa", 1, 4, "train"], ["a", "bbbbbbbbbbb", "one", 4, "train"],
                                           ["a", "ccccccccccc", 1, 4, "train"], ["a", "short-id", 1, 4, "train"], ["a", "ddddddddddd", 9, 4, "train"]])
    code, err = _run(capsys, "--root", str(tmp_path / "root"), "--manifest", str(manifest))
    assert code == 1
    assert f"{manifest}:3: time_start/time_end must be numbers" in err
    assert f"{manifest}:5: youtube_id must be 11 characters" in err and f"{manifest}:6: time_end must be greater" in err
    assert not (tmp_path / "root" / "index" / "clips").exists()  # nothing fetched


def test_unwritable_root_fails_at_once_naming_it(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    manifest = _csv(tmp_path / "m.csv", [["a", "aaaaaaaaaaa", 1, 4, "train"]])
    code, err = _run(capsys, "--root", str(blocker / "root"), "--manifest", str(manifest))
    assert code == 1 and f"corpus root {blocker / 'root'} is not writable" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--classes", "abseiling,nope"], "classes not in"),
        (["--url-template", "https://example.org/watch"], "url template must contain {youtube_id}"),
        (["--cookies", "/nonexistent/cookies.txt"], "cookies file not found: /nonexistent/cookies.txt"),
        (["--cookies-from-browser", "netscape"], "unsupported browser 'netscape'"),
        (["--short-side", "255"], "short_side_pixels must be 0 (keep) or a positive even number, got 255"),
        (["--jobs", "0"], "jobs must be at least 1, got 0"),
        (["--backoff-base", "10", "--backoff-cap", "5"], "back-off needs 0 < base <= cap"),
    ],
)
def test_bad_options_exit_1_naming_the_value(tmp_path, capsys, flags, message):
    manifest = _csv(tmp_path / "m.csv", [["abseiling", "aaaaaaaaaaa", 1, 4, "train"]])
    code, err = _run(capsys, "--root", str(tmp_path / "root"), "--manifest", str(manifest), *flags)
    assert code == 1 and message in err, err


@pytest.mark.parametrize("flags", [["--shard", "4/4"], ["--rate-limit", "fast"], ["--preset", "warp"]])
def test_malformed_flags_are_usage_errors(tmp_path, capsys, flags):
    with pytest.raises(SystemExit) as exit_info:
        main(["download", "--root", str(tmp_path), *flags])
    assert exit_info.value.code == 2


@pytest.fixture
def tiny_disk(tmpfs):
    return tmpfs("700k")


@pytest.mark.network_loopback
def test_a_full_disk_stops_the_run_cleanly_and_loses_nothing(tiny_disk, tmp_path, clip_factory, serve, capsys):
    server = serve()
    shutil.copy(clip_factory(seconds=12, fps=25, width=160, height=120, audio=True, gop=25), server.directory / "A.mp4")
    rows = []
    for n in range(8):
        youtube_id = f"disk{n:07d}"
        server.rewrites = {**server.rewrites, f"/v/{youtube_id}": "/files/A.mp4"}
        rows.append(["full", youtube_id, n, n + 3, "train"])
    manifest = _csv(tmp_path / "m.csv", rows)
    root = tiny_disk / "root"
    args = ["--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
            "--short-side", "96", "--preset", "ultrafast", "--max-attempts", "1"]
    code, err = _run(capsys, *args)
    assert code == 1 and "No space left on device" in err, err
    layout = CorpusLayout(root)
    state = CorpusIndex(root).clip_state().to_pandas()  # the index is readable
    for row in state[state.status == "ok"].itertuples():
        verify_clip(layout.resolve(row.path), expected_seconds=3.0, tolerance_seconds=0.1)
    assert not [p for p in root.rglob("*") if is_temp_name(p.name)]
    published = {p.name for p in root.glob("train/full/*.mp4")}
    assert 0 < len(published) < 8  # the disk filled part-way
    subprocess.run(["mount", "-o", "remount,size=20m", str(tiny_disk)], check=True)
    code, err = _run(capsys, *args)
    assert code == 0, err
    state = CorpusIndex(root).clip_state().to_pandas().set_index("clip_id")
    assert len(state) == 8 and (state.status == "ok").all()
    assert {f"{c}.mp4" for c in state.index} >= published  # everything published before the disk filled is kept
