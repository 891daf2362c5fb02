"""A corpus root whose path holds ``$VAR`` and ``%(field)s`` is used literally (yt-dlp expands both in templates)."""

from __future__ import annotations

import csv
import shutil

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex

pytestmark = pytest.mark.network_loopback


def test_the_template_escape_round_trips_through_yt_dlp(monkeypatch, tmp_path):
    import yt_dlp

    from kinetics.download.youtube import literal_outtmpl

    monkeypatch.setenv("KINETICS_TEST_VAR", "expanded")
    for path in [f"{tmp_path}/$HOME/%(id)s/${{KINETICS_TEST_VAR}}/x%d%%.mp4", "~/a$KINETICS_TEST_VAR", "/a/%(id|)s$"]:
        ydl = yt_dlp.YoutubeDL({"outtmpl": literal_outtmpl(path), "quiet": True})
        assert ydl.prepare_filename({"id": "VIDEO", "ext": "mp4", "title": "t"}) == path


def test_a_download_into_a_root_with_dollars_and_percents_stays_inside_it(tmp_path, monkeypatch, clip_factory, serve, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    server = serve()
    shutil.copy(clip_factory(seconds=8, fps=25, width=160, height=120, audio=False, gop=25), server.directory / "A.mp4")
    server.rewrites = {"/v/vidA0000001": "/files/A.mp4", "/v/vidA0000002": "/files/A.mp4"}
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as handle:
        csv.writer(handle).writerows([["label", "youtube_id", "time_start", "time_end", "split"],
                                      ["abseiling", "vidA0000001", 1, 4, "train"], ["abseiling", "vidA0000002", 2, 5, "train"]])
    root = tmp_path / "corpus" / "$HOME" / "%(id)s" / "100%"
    code = main(["download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
                 "--short-side", "96", "--preset", "ultrafast", "--max-attempts", "1", "--no-audio", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    state = CorpusIndex(root).clip_state().to_pandas()
    assert sorted(state.status) == ["ok", "ok"], state[["clip_id", "status", "message"]]
    assert len(list(root.glob("train/abseiling/*.mp4"))) == 2
    assert list(home.rglob("*")) == []  # nothing landed where $HOME points
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and root not in p.parents and tmp_path / "www0" not in p.parents
               and p != manifest]
    assert outside == []
    assert not [p for p in root.rglob(".*") if p.is_file() and p.suffix != ".json" and "index" not in p.parts]
