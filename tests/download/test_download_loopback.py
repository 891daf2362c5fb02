"""`kinetics download` end to end against a loopback server standing in for YouTube.

One mixed manifest of 33 clips (three source videos of different sizes, rates and audio, a long
video, unlabelled test clips, hostile labels, an id starting with '-', and every failure the
server can script) is fetched once by the real CLI; the tests below check what that run left.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import CorpusLayout, safe_label
from kinetics.files import is_temp_name
from kinetics.download.normalise import verify_clip
from kinetics.download.throttle import SharedThrottle, BackoffPolicy
from loopback import LoopbackServer

pytestmark = pytest.mark.network_loopback

SHORT_SIDE = 96
BACKOFF_BASE = 1.0

#: video id -> (endpoint path on the server, {None: file served}); files are made below.
VIDEOS = {
    "vidA0000001": "/files/A.mp4",
    "vidB0000001": "/files/B.mp4",
    "vidC0000001": "/files/C.mp4",
    "vidD0000001": "/files/D.mp4",
    "-dashA00001": "/files/A.mp4",
    "long0000001": "/files/LONG.mp4",
    "tstA0000001": "/files/A.mp4",
    "tstB0000001": "/files/B.mp4",
    "n404a000001": "/status/404/A.mp4",
    "n404b000001": "/status/404/B.mp4",
    "f403a000001": "/status/403/A.mp4",
    "e500a000001": "/status/500/A.mp4",
    "hang0000001": "/hang/6/A.mp4",
    "trunc000001": "/truncate/0.3/C.mp4",
    "r429a000001": "/flaky/429/1/A.mp4",
    "r500a000001": "/flaky/500/1/A.mp4",
}

# label, youtube_id, start, end, split ; expected: "ok" or the reason
CLIPS = [
    ("abseiling", "vidA0000001", 0, 3, "train", "ok"),
    ("abseiling", "vidA0000001", 2.5, 5.5, "train", "ok"),
    ("abseiling", "vidA0000001", 4, 7, "train", "ok"),
    ("playing guitar", "vidA0000001", 6, 9, "train", "ok"),
    ("playing guitar", "vidA0000001", 8.5, 11.5, "train", "ok"),
    ("playing guitar", "vidA0000001", 5, 10, "val", "ok"),
    ("massaging person's head", "vidB0000001", 0, 3, "train", "ok"),
    ("massaging person's head", "vidB0000001", 3, 6, "train", "ok"),
    ("massaging person's head", "vidB0000001", 6, 9, "val", "ok"),
    ("../../x", "vidC0000001", 1, 4, "train", "ok"),
    ("/abs", "vidC0000001", 5, 8, "train", "ok"),
    ("$(touch pwned)", "vidC0000001", 10, 13, "train", "ok"),
    ("a; rm -rf ~ `id`", "vidC0000001", 15, 18, "val", "ok"),
    ("abseiling", "vidD0000001", 0, 3, "train", "ok"),
    ("abseiling", "vidD0000001", 4, 7, "val", "ok"),
    ("playing guitar", "-dashA00001", 1, 4, "train", "ok"),
    ("playing guitar", "-dashA00001", 5, 8, "train", "ok"),
    ("abseiling", "long0000001", 60, 63, "train", "ok"),
    (None, "tstA0000001", 2, 5, "test", "ok"),
    (None, "tstB0000001", 1, 4, "test", "ok"),
    ("abseiling", "r429a000001", 1, 4, "train", "ok"),
    ("abseiling", "r500a000001", 1, 4, "train", "ok"),
    ("abseiling", "vidC0000001", 2, 5, "val", "ok"),
    ("abseiling", "vidB0000001", 2, 5, "val", "ok"),
    ("abseiling", "n404a000001", 1, 4, "train", "unavailable"),  # a mirror's 404: missing, not retried
    ("abseiling", "n404b000001", 1, 4, "train", "unavailable"),
    ("playing guitar", "f403a000001", 1, 4, "train", "throttled"),
    ("playing guitar", "e500a000001", 1, 4, "train", "network"),
    ("playing guitar", "hang0000001", 1, 4, "train", "network"),
    ("playing guitar", "trunc000001", 12, 15, "train", "corrupt_output"),
    ("abseiling", "vidA0000001", 14, 17, "train", "window_out_of_range"),
    ("abseiling", "vidA0000001", 10, 13, "val", "window_out_of_range"),
    ("abseiling", "vidB0000001", 9, 12, "train", "window_out_of_range"),
]

HAS_AUDIO = {"A": True, "B": False, "C": True, "D": True, "LONG": True}


def _clip_id(youtube_id: str, start: float, end: float) -> str:
    from kinetics.manifests.schema import clip_id_for

    return clip_id_for(youtube_id, start, end)


def _write_manifest(path: Path, clips) -> Path:
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for label, youtube_id, start, end, split, *_ in clips:
            writer.writerow([label or "", youtube_id, start, end, split])
    return path


def _args(root: Path, manifest: Path, server: LoopbackServer, *extra: str) -> list[str]:
    return [
        "download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
        "--short-side", str(SHORT_SIDE), "--jobs", "2", "--max-attempts", "2", "--retry-pause", "0.1",
        "--backoff-base", str(BACKOFF_BASE), "--backoff-cap", "2", "--socket-timeout", "3", "--stall-timeout", "1",
        "--preset", "ultrafast", "--json", *extra,
    ]


def _settle(server: LoopbackServer, seconds: float = 0.3) -> None:
    """The server logs a request when its response ends: wait until the log stops growing."""
    count = -1
    while count != len(server.requests):
        count = len(server.requests)
        time.sleep(seconds)


def _requests_since(server: LoopbackServer, moment: float) -> list:
    """Requests answered after ``moment`` (the stalled /hang/ responses of an earlier run end late: left out)."""
    return [r for r in server.requests if r.at > moment and not r.path.startswith("/v/hang")]


@pytest.fixture(scope="module")
def media(clip_factory) -> dict[str, Path]:
    return {
        "A": clip_factory(seconds=12, fps=25, width=160, height=120, audio=True, gop=25),
        "B": clip_factory(seconds=10, fps=30, width=120, height=160, audio=False, gop=30),
        "C": clip_factory(seconds=20, fps=15, width=176, height=144, audio=True),
        "D": clip_factory(seconds=8, fps=24, width=192, height=108, audio=True),
        "LONG": clip_factory(seconds=90, fps=25, width=160, height=120, audio=True, gop=25),
    }


@pytest.fixture(scope="module")
def first_run(media, tmp_path_factory):
    base = tmp_path_factory.mktemp("mixed")
    www = base / "www"
    www.mkdir()
    for name, path in media.items():
        shutil.copy(path, www / f"{name}.mp4")
    server = LoopbackServer(www, send_buffer_bytes=32 * 1024).start()
    for youtube_id, target in VIDEOS.items():
        server.rewrites[f"/v/{youtube_id}"] = target
    manifest = _write_manifest(base / "mixed.csv", CLIPS)
    root = base / "root"
    cwd = os.getcwd()
    os.chdir(base)  # a label that ran as a shell command would drop "pwned" here
    try:
        began = time.monotonic()
        code = main(_args(root, manifest, server))
        elapsed = time.monotonic() - began
    finally:
        os.chdir(cwd)
    _settle(server)
    # snapshots of what the first run left, so that later tests (which run again) cannot change them
    yield {"code": code, "server": server, "root": root, "manifest": manifest, "base": base, "elapsed": elapsed,
           "state": _state(root), "history": CorpusIndex(root).clips.read().to_pandas()}
    server.stop()


def _state(root: Path) -> pd.DataFrame:
    return CorpusIndex(root).clip_state().to_pandas().set_index("clip_id")


def test_every_clip_has_the_expected_outcome(first_run):
    assert first_run["code"] == 1  # some clips failed (network, throttled, corrupt): exit 1, as flow does
    state = first_run["state"]
    expected = {_clip_id(y, s, e): outcome for _, y, s, e, _, outcome in CLIPS}
    assert len(expected) == 33 and set(state.index) == set(expected)
    got = {clip: ("ok" if row.status == "ok" else row.reason) for clip, row in state.iterrows()}
    assert got == expected
    assert (state.loc[state.reason == "window_out_of_range", "status"] == "missing").all()
    transient = state[state.reason.isin(["network", "throttled", "corrupt_output"])]
    assert (transient.status == "failed").all() and (transient.attempts == 2).all()  # bounded retries
    assert state.loc[_clip_id("vidA0000001", 14, 17), "attempts"] == 1  # permanent: not retried
    assert state.message.notna().sum() == 33 - 24 and "HTTP Error 404" in state.loc[_clip_id("n404a000001", 1, 4), "message"]


def test_clips_on_disk_have_the_window_length_and_short_side(first_run, media):
    root = first_run["root"]
    state = first_run["state"]
    ok = state[state.status == "ok"]
    assert len(ok) == 24
    layout = CorpusLayout(root)
    for clip_id, row in ok.iterrows():
        path = layout.resolve(row.path)
        probe = verify_clip(path, expected_seconds=row.time_end - row.time_start, tolerance_seconds=0.1)
        assert min(probe.width, probe.height) == SHORT_SIDE and probe.codec == "h264"
        source = next(target for vid, target in VIDEOS.items() if vid == row.youtube_id).rsplit("/", 1)[1][:-4]
        assert probe.has_audio == HAS_AUDIO[source], clip_id
        assert (probe.width > probe.height) == (source != "B")  # portrait stays portrait
        assert row.duration == pytest.approx(row.time_end - row.time_start, abs=0.1) and row.bytes == path.stat().st_size
    assert state.loc[_clip_id("tstA0000001", 2, 5), "path"] == f"test/{_clip_id('tstA0000001', 2, 5)}.mp4"
    assert state.loc[_clip_id("-dashA00001", 1, 4), "path"] == f"train/playing_guitar/{_clip_id('-dashA00001', 1, 4)}.mp4"


def test_the_trim_starts_at_the_annotated_frame(first_run, media):
    root = first_run["root"]
    clip = _clip_id("vidA0000001", 2.5, 5.5)
    path = CorpusLayout(root).resolve(_state(root).loc[clip, "path"])
    with av.open(str(path)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="gray").astype(float)
    with av.open(str(media["A"])) as container:
        source = [f.reformat(width=first.shape[1], height=first.shape[0]).to_ndarray(format="gray").astype(float)
                  for f in container.decode(video=0)][55:72]
    errors = [np.abs(first - frame).mean() for frame in source]
    assert int(np.argmin(errors)) + 55 == 63  # the first frame at or after 2.5 s at 25 fps (2.52 s)


def test_nothing_escapes_the_root_and_no_temp_files_remain(first_run):
    root, base = first_run["root"], first_run["base"]
    outside = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if root not in p.parents and p != root and "www" not in p.parts)
    assert outside == ["mixed.csv"]
    everything = [p for p in root.rglob("*") if p.is_file()]
    assert not [p for p in everything if is_temp_name(p.name)]
    top = sorted(p.name for p in root.iterdir())
    assert top == ["index", "test", "train", "val"]
    for split in ("train", "val"):
        names = {p.name for p in (root / split).iterdir()}
        assert names == {safe_label(label) for label, _, _, _, s, _ in CLIPS if s == split and label}
        assert not [n for n in names if n.startswith((".", "-")) or "/" in n]
    assert {"_.._x", "abs", "touch_pwned"} <= {p.name for p in (root / "train").iterdir()}
    assert "a_rm_-rf_id" in {p.name for p in (root / "val").iterdir()}
    assert not list(base.rglob("pwned"))


def test_a_429_made_every_worker_back_off_then_succeeded(first_run):
    root, server = first_run["root"], first_run["server"]
    state = SharedThrottle(root, BackoffPolicy(BACKOFF_BASE, 2.0)).state()
    assert state.events == 1 and state.waves == 1 and "429" in state.message
    assert state.delay_seconds == 0.0  # reset by the successes that followed
    hits = server.requests_matching(r"^/v/r429a000001$")
    refused = [r for r in hits if r.status == 429]
    assert len(refused) == 1
    retried = [r for r in hits if r.status == 200 and r.at > refused[0].at]
    assert retried and retried[0].at - refused[0].at >= BACKOFF_BASE - 0.05
    history = first_run["history"]
    attempts = history[history.clip_id == _clip_id("r429a000001", 1, 4)].sort_values("started_at")
    assert list(attempts.status) == ["failed", "ok"] and list(attempts.reason.fillna("")) == ["throttled", ""]
    # no attempt at any clip began between the throttle being recorded and the shared resume time
    began = history.started_at.map(lambda t: t.timestamp())
    during = began[(began > state.updated_at + 0.05) & (began < state.resume_at - 0.05)]
    assert during.empty, history.loc[during.index, ["clip_id", "started_at"]]


def test_a_500_then_200_succeeded_on_retry(first_run):
    hits = first_run["server"].requests_matching(r"^/v/r500a000001$")
    assert [r.status for r in hits][:2] == [500, 200]
    state = first_run["state"]
    assert state.loc[_clip_id("r500a000001", 1, 4), "status"] == "ok" and state.loc[_clip_id("r500a000001", 1, 4), "attempts"] == 2


def test_section_download_reads_a_fraction_of_a_long_video(first_run, media):
    fetched = first_run["server"].bytes_sent(r"^/v/long0000001$")
    whole = media["LONG"].stat().st_size
    assert 0 < fetched < 0.25 * whole, (fetched, whole)


def test_a_second_run_does_no_work(first_run, capsys):
    root, server = first_run["root"], first_run["server"]
    before_rows = CorpusIndex(root).clips.read(["attempt_id"]).num_rows
    capsys.readouterr()
    began = time.time()
    assert main(_args(root, first_run["manifest"], server)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["selected"] == 33 and summary["skipped"] == 33 and summary["attempts"] == 0
    time.sleep(0.3)
    assert _requests_since(server, began) == []
    assert CorpusIndex(root).clips.read(["attempt_id"]).num_rows == before_rows


def test_retry_failed_touches_only_the_failed_clips(first_run, capsys):
    root, server = first_run["root"], first_run["server"]
    failed = {c for c, row in first_run["state"].iterrows() if row.status == "failed"}
    capsys.readouterr()
    began = time.time()
    assert main(_args(root, first_run["manifest"], server, "--retry-failed", "--max-attempts", "1", "--jobs", "1")) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["attempts"] == len(failed) == 4 and summary["skipped"] == 33 - 4
    time.sleep(0.3)
    asked = {r.path.rsplit("/", 1)[1] for r in _requests_since(server, began)}
    assert asked == {c[:11] for c in failed} - {"hang0000001"}
    state = _state(root)
    assert all(state.loc[c, "attempts"] == first_run["state"].loc[c, "attempts"] + 1 for c in failed)  # counted across runs
