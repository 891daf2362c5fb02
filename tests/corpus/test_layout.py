"""Paths under the root: sanitised labels, containment, atomic publish."""

from __future__ import annotations

import pytest

from kinetics.corpus.layout import CorpusLayout, safe_label
from kinetics.files import atomic_output, is_temp_name, publish, temp_path
from kinetics.errors import CorpusError

HOSTILE = ["../../x", "/abs/path", "$(touch pwned)", "a;rm -rf /", "..", ".", "-rf", "`id`", "x/../../y", "\x00nul", "   "]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_stay_inside_the_root(tmp_path, label):
    layout = CorpusLayout(tmp_path / "root")
    rel = layout.clip_relpath("train", label, "abcdefghijk_000001_000011")
    path = layout.resolve(rel)
    assert (tmp_path / "root").resolve() in path.parents
    name = rel.split("/")[1]
    assert name not in ("", ".", "..") and not name.startswith(("-", ".")) and "/" not in name
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def test_real_labels_stay_readable():
    assert safe_label("massaging person's head") == "massaging_person_s_head"
    assert safe_label("passing American football (in game)") == "passing_American_football_in_game"
    assert safe_label("abseiling") == "abseiling"


def test_unlabelled_clips_sit_directly_under_the_split(tmp_path):
    assert CorpusLayout(tmp_path).clip_relpath("test", None, "abcdefghijk_000001_000011") == "test/abcdefghijk_000001_000011.mp4"


def test_resolve_refuses_escapes_and_reserved_splits(tmp_path):
    layout = CorpusLayout(tmp_path)
    with pytest.raises(CorpusError):
        layout.resolve("../outside.mp4")
    with pytest.raises(CorpusError):
        layout.clip_relpath("index", "x", "abcdefghijk_000001_000011")
    with pytest.raises(CorpusError):
        layout.clip_relpath("train", "x", "../abcdefghijk")


def test_publish_is_a_rename_of_a_hidden_temp(tmp_path):
    final = tmp_path / "train" / "x" / "clip.mp4"
    final.parent.mkdir(parents=True)
    temp = temp_path(final)
    assert is_temp_name(temp.name) and temp.parent == final.parent
    temp.write_bytes(b"data")
    publish(temp, final)
    assert final.read_bytes() == b"data" and not temp.exists()


def test_unwritable_root_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CorpusError, match=str(blocker)):
        CorpusLayout(blocker / "root").ensure_writable()


def test_atomic_output_publishes_whole_files_or_nothing(tmp_path):
    final = tmp_path / "deep" / "out.json"
    with atomic_output(final) as temp:
        assert is_temp_name(temp.name) and temp.parent == final.parent
        temp.write_text("{}")
        assert not final.exists()  # nothing under the final name until the block ends
    assert final.read_text() == "{}"
    with pytest.raises(RuntimeError):
        with atomic_output(final) as temp:
            temp.write_text("half")
            raise RuntimeError("writer died")
    assert final.read_text() == "{}" and [p.name for p in final.parent.iterdir()] == ["out.json"]
