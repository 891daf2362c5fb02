"""One exit-code rule for every clip command, and a mirror's 404 is a missing clip (issue 13, item 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex


def _download(root: Path, manifest: Path, server, capsys) -> tuple[int, dict, str]:
    code = main(["download", "--root", str(root), "--manifest", str(manifest), "--url-template", server.base_url + "/v/{youtube_id}",
                 "--jobs", "1", "--max-attempts", "2", "--retry-pause", "0.05", "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@pytest.mark.network_loopback
def test_a_mirror_404_is_missing_and_not_retried_and_exits_0(tmp_path, serve, capsys, one_class_manifest):
    server = serve()
    server.rewrites = {"/v/gone0000001": "/status/404/gone.mp4"}
    code, summary, err = _download(tmp_path / "root", one_class_manifest(tmp_path / "m.csv", ["gone0000001"]), server, capsys)
    state = CorpusIndex(tmp_path / "root").clip_state().to_pylist()
    assert [(r["status"], r["reason"], r["attempts"]) for r in state] == [("missing", "unavailable", 1)]
    assert code == 0 and summary["missing"] == 1 and summary["failed"] == 0, err


@pytest.mark.network_loopback
def test_download_exits_1_when_a_clip_failed_as_flow_does(tmp_path, serve, capsys, one_class_manifest):
    server = serve()
    server.rewrites = {"/v/gone0000001": "/status/404/gone.mp4", "/v/down0000001": "/status/500/down.mp4"}
    code, summary, err = _download(tmp_path / "root", one_class_manifest(tmp_path / "m.csv", ["gone0000001", "down0000001"]), server, capsys)
    assert code == 1 and summary["failed"] == 1 and summary["missing"] == 1
    assert "1 of 2 clips failed" in err and "--retry-failed" in err
