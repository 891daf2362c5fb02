"""The official UCF-101 / HMDB-51 split files (real copies in shared data) and their quirks."""

from __future__ import annotations

from collections import Counter

import pytest

from kinetics.data.splits import Split, read_ucf101_classes
from kinetics.errors import ManifestError

UCF_COUNTS = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}


@pytest.fixture(scope="module")
def ucf_dir(shared_data):
    return shared_data / "ucf101" / "ucfTrainTestlist"


@pytest.fixture(scope="module")
def hmdb_dir(shared_data):
    return shared_data / "hmdb51" / "testTrainMulti_7030_splits"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_ucf101_official_counts(ucf_dir, number):
    split = Split.from_ucf101(ucf_dir, number)
    train, test = UCF_COUNTS[number]
    assert (len(split.train), len(split.test)) == (train, test)
    assert len(split.class_names) == 101
    paths_train = {e.video_relpath for e in split.train}
    paths_test = {e.video_relpath for e in split.test}
    assert len(paths_train | paths_test) == 13320 and not paths_train & paths_test
    assert {e.label_index for e in split.entries} == set(range(101))


def test_ucf101_labels_are_zero_based_and_follow_class_ind(ucf_dir, shared_data):
    split = Split.from_ucf101(ucf_dir, 1)
    mmaction = (shared_data / "class_lists" / "ucf101_label_map_mmaction2.txt").read_text().split()
    assert list(split.class_names) == mmaction
    first = split.train[0]
    assert (first.label, first.label_index) == ("ApplyEyeMakeup", 0)
    assert not any("\r" in e.video_relpath or e.video_relpath != e.video_relpath.strip() for e in split.entries)


def test_ucf101_handstand_class_comes_from_the_folder_not_the_file_name(ucf_dir):
    split = Split.from_ucf101(ucf_dir, 1)
    handstand = [e for e in split.entries if "HandStandPushups" in e.video_relpath]
    assert handstand, "the official lists name these files v_HandStandPushups_..."
    assert {e.label for e in handstand} == {"HandstandPushups"}
    assert {e.label_index for e in handstand} == {split.class_names.index("HandstandPushups")}


@pytest.mark.parametrize("number", [1, 2, 3])
def test_hmdb51_official_counts(hmdb_dir, number):
    split = Split.from_hmdb51(hmdb_dir, number)
    assert Counter(e.subset for e in split.entries) == {"train": 3570, "test": 1530, "unused": 1666}
    assert len(split.class_names) == 51
    per_class = Counter((e.label, e.subset) for e in split.entries)
    assert all(per_class[(label, "train")] == 70 and per_class[(label, "test")] == 30 for label in split.class_names)
    assert not {e.video_relpath for e in split.train} & {e.video_relpath for e in split.test}


def test_hmdb51_label_order_is_sorted_class_names(hmdb_dir, shared_data):
    split = Split.from_hmdb51(hmdb_dir, 1)
    mmaction = (shared_data / "class_lists" / "hmdb51_label_map_mmaction2.txt").read_text().split()
    assert list(split.class_names) == mmaction == sorted(mmaction)
    entry = next(e for e in split.entries if e.label == "wave")
    assert entry.label_index == mmaction.index("wave") and entry.video_relpath.startswith("wave/")
    assert all(e.video_relpath.endswith(".avi") for e in split.entries)  # the trailing space is not part of the name


def test_ucf101_train_label_that_contradicts_the_folder_names_the_line(tmp_path):
    (tmp_path / "classInd.txt").write_bytes(b"1 A\r\n2 B\r\n")
    (tmp_path / "trainlist01.txt").write_bytes(b"A/v_A_g01_c01.avi 1\r\nB/v_B_g01_c01.avi 1\r\n")
    (tmp_path / "testlist01.txt").write_bytes(b"")
    with pytest.raises(ManifestError) as caught:
        Split.from_ucf101(tmp_path, 1)
    assert caught.value.line == 2 and caught.value.file.endswith("trainlist01.txt")


def test_ucf101_unknown_class_and_bad_class_ind_are_reported(tmp_path):
    (tmp_path / "classInd.txt").write_bytes(b"1 A\r\n3 C\r\n")
    with pytest.raises(ManifestError, match=r"classInd.txt:2"):
        read_ucf101_classes(tmp_path / "classInd.txt")
    (tmp_path / "classInd.txt").write_bytes(b"1 A\r\n")
    (tmp_path / "trainlist01.txt").write_bytes(b"")
    (tmp_path / "testlist01.txt").write_bytes(b"A/ok.avi\r\nZ/v_Z.avi\r\n")
    with pytest.raises(ManifestError, match=r"testlist01.txt:2: 'Z/v_Z.avi'"):
        Split.from_ucf101(tmp_path, 1)


def test_hmdb51_bad_tag_and_overlap_are_reported(tmp_path):
    (tmp_path / "run_test_split1.txt").write_text("a.avi 1 \nb.avi 7 \n")
    with pytest.raises(ManifestError, match=r"run_test_split1.txt:2"):
        Split.from_hmdb51(tmp_path, 1)
    (tmp_path / "run_test_split1.txt").write_text("a.avi 1 \na.avi 2 \n")
    with pytest.raises(ManifestError, match="listed twice"):
        Split.from_hmdb51(tmp_path, 1)
    with pytest.raises(ManifestError, match="no <class>_test_split2.txt"):
        Split.from_hmdb51(tmp_path, 2)


def test_split_number_is_checked_once():
    with pytest.raises(ValueError, match=r"split must be one of \(1, 2, 3\), got 4"):
        Split.from_ucf101("/nonexistent", 4)
