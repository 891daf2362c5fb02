"""`--source cvdf`: tar.gz parts from a mirror into the same layout; YouTube fills what it lacks."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import CorpusLayout
from kinetics.files import is_temp_name
from kinetics.download.cvdf import CvdfMirror, part_names
from kinetics.download.normalise import verify_clip
from kinetics.manifests.schema import clip_id_for

pytestmark = pytest.mark.network_loopback

TRAIN = [f"cvdftrain{n:02d}" for n in range(8)]
VAL = ["cvdfvalid00", "cvdfvalid01"]


def _tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _clip(youtube_id: str) -> str:
    return clip_id_for(youtube_id, 2, 5)


@pytest.fixture
def mirror(serve, clip_factory):
    server = serve()
    www = server.directory
    good = clip_factory(seconds=3, fps=25, width=160, height=120, audio=True).read_bytes()
    t = [_clip(y) for y in TRAIN]
    _tar(www / "400/train/part_0.tar.gz", {f"train/{t[0]}.mp4": good, f"train/{t[1]}.mp4": good, f"train/{t[2]}.mp4": good,
                                           "../../evil.mp4": good, "/tmp/evil_abs.mp4": good})
    _tar(www / "400/train/part_1.tar.gz", {f"{t[3]}.mp4": good, f"{t[4]}.mp4": good, f"{t[5]}.mp4": b"corrupt" * 100,
                                           f"{_clip('notinmanifs')}.mp4": good})
    _tar(www / "400/val/part_0.tar.gz", {f"val/{_clip(y)}.mp4": good for y in VAL})
    _tar(www / "400/replacement_for_corrupted_k400.tgz", {f"replacement_for_corrupted_k400/{TRAIN[5]}.mp4": good})
    for split, parts in (("train", 2), ("val", 1)):
        listing = "".join(f"https://s3.amazonaws.com/kinetics/400/{split}/part_{n}.tar.gz\n" for n in range(parts))
        (www / f"400/{split}/k400_{split}_path.txt").write_text(listing)
    shutil.copy(clip_factory(seconds=8, fps=25, width=160, height=120, audio=True), www / "src.mp4")
    for youtube_id in TRAIN + VAL:
        server.rewrites[f"/v/{youtube_id}"] = "/files/src.mp4"
    return server


def _manifest(path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for n, youtube_id in enumerate(TRAIN):
            writer.writerow(["class a" if n % 2 else "class b", youtube_id, 2, 5, "train"])
        for youtube_id in VAL:
            writer.writerow(["class a", youtube_id, 2, 5, "val"])
    return path


def test_urls_follow_the_base_url():
    mirror = CvdfMirror("http://127.0.0.1:9/kin", "700-2020")
    assert mirror.list_url("train") == "http://127.0.0.1:9/kin/700_2020/train/k700_2020_train_path.txt"
    assert mirror.part_url("val", "part_3.tar.gz") == "http://127.0.0.1:9/kin/700_2020/val/part_3.tar.gz"
    assert mirror.replacement_url() is None and CvdfMirror(version="400").replacement_url().endswith("/400/replacement_for_corrupted_k400.tgz")
    text = "https://s3.amazonaws.com/kinetics/400/train/part_0.tar.gz\n\nhttps://x/part_1.tar.gz?sig=1\nnot a part\n"
    assert part_names(text) == ["part_0.tar.gz", "part_1.tar.gz"]


def test_mirror_first_then_youtube_fills_the_rest(mirror, tmp_path, capsys):
    root = tmp_path / "root"
    manifest = _manifest(tmp_path / "m.csv")
    base = ["download", "--root", str(root), "--manifest", str(manifest), "--short-side", "96", "--preset", "ultrafast", "--json"]
    cvdf = [*base, "--source", "cvdf", "--base-url", mirror.base_url + "/files", "--jobs", "2"]
    assert main(cvdf) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["absent"] == 2 and summary["ok"] == 8 and summary["failed"] == 0
    state = CorpusIndex(root).clip_state().to_pandas().set_index("clip_id")
    assert set(state.index) == {_clip(y) for y in TRAIN[:6] + VAL}  # the two the mirror lacks have no record
    assert (state.status == "ok").all() and (state.source == "cvdf").all()
    layout = CorpusLayout(root)
    for row in state.itertuples():
        probe = verify_clip(layout.resolve(row.path), expected_seconds=3.0, tolerance_seconds=0.1)
        assert min(probe.width, probe.height) == 96
    assert state.loc[_clip(TRAIN[5]), "path"] == f"train/class_a/{_clip(TRAIN[5])}.mp4"  # the replacement's copy ...
    history = CorpusIndex(root).clips.read().to_pandas()
    assert (history.clip_id == _clip(TRAIN[5])).sum() == 1  # ... and the corrupt one in part_1 was never tried
    assert not list(tmp_path.rglob("evil*")) and not Path("/tmp/evil_abs.mp4").exists()
    assert not [p for p in root.rglob("*") if is_temp_name(p.name) or p.name.endswith((".tar.gz", ".tgz"))]  # parts deleted

    began = time.time()
    assert main(cvdf) == 0  # nothing pending is in any part: no part is downloaded again
    assert json.loads(capsys.readouterr().out)["attempts"] == 0
    time.sleep(0.2)
    assert not [r for r in mirror.requests if r.at > began and "part_" in r.path]

    youtube = [*base, "--url-template", mirror.base_url + "/v/{youtube_id}"]
    assert main(youtube) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] == 2 and summary["skipped"] == 8
    state = CorpusIndex(root).clip_state().to_pandas().set_index("clip_id")
    assert len(state) == 10 and (state.status == "ok").all()
    assert set(state[state.source == "youtube"].index) == {_clip(y) for y in TRAIN[6:]}


def test_a_missing_part_list_names_the_version_and_split(mirror, tmp_path, capsys):
    manifest = _manifest(tmp_path / "m.csv")
    code = main(["download", "--root", str(tmp_path / "root"), "--manifest", str(manifest), "--source", "cvdf",
                 "--version", "600", "--base-url", mirror.base_url + "/files"])
    assert code == 1
    assert "cannot read the CVDF part list for 600/train" in capsys.readouterr().err


def test_a_mirror_without_the_replacement_archive_or_a_listed_part_goes_on(mirror, tmp_path, capsys):
    (mirror.directory / "400/replacement_for_corrupted_k400.tgz").unlink()
    (mirror.directory / "400/train/part_1.tar.gz").unlink()  # listed, but the mirror lacks it
    root = tmp_path / "root"
    code = main(["download", "--root", str(root), "--manifest", str(_manifest(tmp_path / "m.csv")), "--short-side", "96",
                 "--preset", "ultrafast", "--json", "--source", "cvdf", "--base-url", mirror.base_url + "/files"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 0 and summary["ok"] == 5 and summary["absent"] == 5, captured.err  # part_0 (3) and val (2)
    assert "replacement_for_corrupted_k400.tgz" in captured.err and "part_1.tar.gz" in captured.err
