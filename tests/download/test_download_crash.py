"""`kill -9` in the middle of a real `kinetics download` process, then the same command again."""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import is_temp_name
from kinetics.download.normalise import verify_clip
from loopback import LoopbackServer

pytestmark = pytest.mark.network_loopback

REPO = Path(__file__).resolve().parents[2]
IDS = [f"crash{n:06d}" for n in range(8)]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _published(root: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.glob("train/*/*.mp4") if not is_temp_name(p.name)}


def test_sigkill_mid_run_then_rerun_completes_without_refetching(clip_factory, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    shutil.copy(clip_factory(seconds=12, fps=25, width=160, height=120, audio=True, gop=25), www / "A.mp4")
    server = LoopbackServer(www).start()
    manifest = tmp_path / "crash.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for n, youtube_id in enumerate(IDS):
            server.rewrites[f"/v/{youtube_id}"] = "/files/A.mp4"
            writer.writerow(["class one" if n % 2 else "class two", youtube_id, n % 8, n % 8 + 3, "train"])
    root = tmp_path / "root"
    args = ["download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
            "--short-side", "96", "--preset", "ultrafast", "--jobs", "2", "--max-attempts", "1"]
    try:
        process = subprocess.Popen([sys.executable, "-m", "kinetics", *args], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(_published(root)) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the run finished before it could be killed: " + process.stderr.read().decode()
        workers = _children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers), "orphaned workers kept running"
        at_kill = _published(root)
        recorded_ok = set(CorpusIndex(root).clip_state().to_pandas().query("status == 'ok'").clip_id)  # readable
        assert len(at_kill) < len(IDS)
        rerun_began = time.time()
        assert main(args) == 0
    finally:
        server.stop()

    state = CorpusIndex(root).clip_state().to_pandas().set_index("clip_id")
    assert len(state) == len(IDS) and (state.status == "ok").all()
    layout = CorpusLayout(root)
    for clip_id, row in state.iterrows():
        verify_clip(layout.resolve(row.path), expected_seconds=3.0, tolerance_seconds=0.1)
    assert not [p for p in root.rglob("*") if is_temp_name(p.name)]
    after = _published(root)
    for name, identity in at_kill.items():
        assert after[name] == identity, f"{name} was written again"  # same inode and mtime: not re-fetched
    adopted = {c for c, row in state.iterrows() if row.source == "adopted"}
    assert adopted == {n[:-4] for n in at_kill} - recorded_ok  # published but unrecorded at the kill
    history = CorpusIndex(root).clips.read().to_pandas()
    fetched = history[(history.status == "ok") & (history.source == "youtube")].clip_id
    assert fetched.is_unique  # no clip downloaded twice
    asked_again = {r.path.rsplit("/", 1)[1] for r in server.requests if r.at > rerun_began}
    assert not asked_again & {n[:11] for n in at_kill}
