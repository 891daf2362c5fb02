"""Selection: split, classes, limits and shards are pure, deterministic and order-independent."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kinetics.download.select import Selection, Shard, clip_hash, parse_classes, select_clips
from kinetics.errors import KineticsError
from kinetics.manifests.readers import Manifest


@pytest.fixture(scope="module")
def k400_val(shared_data) -> Manifest:
    return Manifest.from_file(shared_data / "kinetics400" / "kinetics-400_val.csv")


def _ids(table: pa.Table) -> list[str]:
    return table.column("clip_id").to_pylist()


def test_shards_partition_the_selection_exactly(k400_val):
    selection = Selection(split="val", classes=("abseiling", "archery", "zumba"))
    whole = set(_ids(select_clips(k400_val, selection)))
    parts = [set(_ids(select_clips(k400_val, Selection(split="val", classes=selection.classes, shard=Shard(i, 3))))) for i in range(3)]
    assert set().union(*parts) == whole
    assert sum(len(p) for p in parts) == len(whole)  # no overlap
    assert all(len(p) > len(whole) / 6 for p in parts)  # sha1 spreads them


def test_per_class_and_limit_are_order_independent(k400_val):
    selection = Selection(classes=("abseiling", "archery", "zumba"), per_class=4, limit=10)
    picked = select_clips(k400_val, selection)
    reversed_table = k400_val.table.take(pa.array(range(k400_val.table.num_rows - 1, -1, -1)))
    assert _ids(select_clips(reversed_table, selection)) == _ids(picked)
    assert picked.num_rows == 10
    labels = picked.column("label").to_pylist()
    assert max(labels.count(name) for name in set(labels)) <= 4
    # within a class, the kept clips are those with the smallest sha1
    abseiling = _ids(select_clips(k400_val, Selection(classes=("abseiling",))))
    kept = [c for c, l in zip(_ids(picked), labels) if l == "abseiling"]
    assert kept and kept == abseiling[: len(kept)]
    assert [clip_hash(c) for c in abseiling] == sorted(clip_hash(c) for c in abseiling)


def test_split_filter_and_python_hash_independence(k400_val):
    assert select_clips(k400_val, Selection(split="train")).num_rows == 0
    assert select_clips(k400_val, Selection(split="val")).num_rows == len(k400_val)
    assert clip_hash("abc") == 0xA9993E364706816A  # the first 8 bytes of sha1("abc"), on any machine


def test_split_aliases_select_the_stored_split(k400_val):
    assert select_clips(k400_val, Selection(split="validate")).num_rows == len(k400_val)  # DeepMind's name for val
    assert Selection(split=" VAL ").split == "val"


def test_unknown_classes_are_named_with_suggestions(k400_val):
    with pytest.raises(KineticsError, match=r"'abseilling' \(did you mean 'abseiling'.*\), 'no such'$"):
        select_clips(k400_val, Selection(classes=("abseiling", "abseilling", "no such")))


def test_classes_from_a_file_or_a_list(tmp_path):
    listing = tmp_path / "classes.txt"
    listing.write_text("# my subset\nabseiling\n\nplaying guitar\nabseiling\n")
    assert parse_classes(f"@{listing}") == ("abseiling", "playing guitar")
    assert parse_classes(str(listing)) == ("abseiling", "playing guitar")  # a plain path works too
    assert parse_classes("abseiling, archery ,") == ("abseiling", "archery")
    with pytest.raises(KineticsError, match="cannot read class list"):
        parse_classes(f"@{tmp_path / 'missing.txt'}")


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1", "a/b", "1/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(ValueError, match="shard"):
        Shard.parse(text)


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="per_class"):
        Selection(per_class=0)
    with pytest.raises(ValueError, match="classes is empty"):
        Selection(classes=())
