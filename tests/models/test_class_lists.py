"""The shipped Kinetics class lists, the registry's use of them, and lining a corpus's classes up with a checkpoint's."""

from __future__ import annotations

import csv

import pytest

from kinetics.models.classes import (
    ClassListError,
    class_list_names,
    class_names,
    match_classes,
)
from kinetics.models.registry import checkpoint_names, get_checkpoint

OFFICIAL_VAL = {
    "kinetics400": "kinetics400/kinetics-400_val.csv",
    "kinetics600": "kinetics600/kinetics-600_val.csv",
    "kinetics700": "kinetics700/kinetics-700_val.csv",
    "kinetics700_2020": "kinetics700_2020/kinetics-700_2020_val.csv",
}


@pytest.mark.parametrize("name", class_list_names())
def test_each_list_is_sorted_and_equals_the_labels_of_its_official_val_csv(name, shared_data):
    with open(shared_data / OFFICIAL_VAL[name], newline="", encoding="utf-8") as handle:
        labels = sorted({row["label"] for row in csv.DictReader(handle)})
    names = class_names(name)
    assert list(names) == labels == sorted(names)
    assert len(names) == int(name[8:11])


def test_every_registry_entry_names_its_list_and_kinetics_ones_carry_names():
    for name in checkpoint_names():
        spec = get_checkpoint(name)
        if spec.class_list.startswith("kinetics"):
            assert spec.classes is not None and len(spec.classes) == spec.num_classes
        else:
            assert spec.classes is None  # charades: the package does not ship its names
    assert get_checkpoint("i3d_inception.deepmind_rgb_scratch").classes[227] == "playing cricket"


K400 = class_names("kinetics400")


def match(checkpoint, corpus, num_classes=None):
    return match_classes(checkpoint, corpus, num_classes=num_classes or len(checkpoint or corpus),
                         checkpoint_name="ckpt", corpus_name="corpus")


def test_the_same_list_or_a_subset_at_the_same_places_needs_no_mapping():
    assert match(K400, list(K400)).identity and not match(K400, list(K400)).subset
    chosen = ["", "air drumming", "", "applauding"]  # a corpus made with --classes: names only where it has clips
    mapping = match(K400, chosen)
    assert mapping.identity and mapping.covered == (1, 3) and mapping.subset


def test_kinetics_names_in_another_order_are_mapped_by_name():
    mapping = match(K400, ["playing cricket", "abseiling", "robot dancing"])
    assert not mapping.identity and mapping.to_checkpoint == (227, 0, 277)
    assert mapping.covered == (0, 227, 277) and "mapped by name" in mapping.note


def test_other_names_or_counts_are_refused_naming_both_lists_and_the_first_differences():
    with pytest.raises(ClassListError) as caught:
        match(K400, ["moving_left", "abseiling", "static"])
    message = str(caught.value)
    assert "'moving_left'" in message and "'static'" in message and "400" in message
    assert "0: 'moving_left' vs 'abseiling'" in message and "1:" not in message.split("first differences")[1][:40]
    with pytest.raises(ClassListError, match="names unknown"):
        match(None, ["a", "b", "c"], num_classes=400)  # a local file that does not list its classes
    with pytest.raises(ClassListError, match="has 3 classes but"):
        match(None, ["a", "b", "c", "d"], num_classes=3)
    assert match(None, ["a", "b", "c"], num_classes=3).identity  # the count is all that can be checked
