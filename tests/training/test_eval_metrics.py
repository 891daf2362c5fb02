"""Metrics on logits whose answers are worked out by hand; two-stream fusion; test-time views."""

from __future__ import annotations

import math

import pytest
import torch

from kinetics.training.metrics import classification_metrics, confusion_matrix, fuse_logits, topk_hits
from kinetics.training.views import ThreeCrop, three_crop_offsets

# 7 classes, 5 labelled clips and one unlabelled (-1), ranks worked out by hand:
LOGITS = torch.tensor([
    [9.0, 1, 2, 3, 4, 5, 6],  # label 0: rank 1                  -> top-1 hit
    [0.0, 1, 9, 3, 4, 5, 6],  # label 1: rank 7 (lowest but one)  -> miss, not in top 5 (top 5 = 2,6,5,4,3)
    [0.0, 1, 2, 3, 4, 5, 6],  # label 3: rank 4                   -> top-5 hit only
    [0.0, 1, 2, 3, 4, 5, 6],  # label 6: rank 1                   -> top-1 hit
    [5.0, 0, 9, 0, 0, 0, 0],  # label 0: rank 2                   -> top-5 hit only, predicted 2
    [0.0, 9, 0, 0, 0, 0, 0],  # unlabelled: ignored everywhere
])
LABELS = torch.tensor([0, 1, 3, 6, 0, -1])


def test_top1_top5_per_class_and_confusion_by_hand():
    m = classification_metrics(LOGITS, LABELS)
    assert m.clips == 5
    assert m.top1 == pytest.approx(2 / 5)
    assert m.top5 == pytest.approx(4 / 5)
    # class 0: 1 of 2; class 1: 0 of 1; class 3: 0 of 1; class 6: 1 of 1; classes 2, 4, 5 have no clip
    assert m.per_class_accuracy == (0.5, 0.0, None, 0.0, None, None, 1.0)
    assert m.per_class_clips == (2, 1, 0, 1, 0, 0, 1)
    assert m.mean_class_accuracy == pytest.approx((0.5 + 0 + 0 + 1) / 4)
    expected = torch.zeros(7, 7, dtype=torch.int64)
    for true, predicted in ((0, 0), (1, 2), (3, 6), (6, 6), (0, 2)):
        expected[true, predicted] += 1
    assert torch.equal(torch.tensor(m.confusion), expected)
    assert m.as_dict(class_names=list("abcdefg"))["per_class"][0] == {"class": "a", "clips": 2, "accuracy": 0.5}


def test_top_k_with_fewer_classes_than_k_counts_every_clip():
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert topk_hits(logits, torch.tensor([0, 0]), 5).all()
    assert classification_metrics(logits, torch.tensor([0, 0])).top1 == 0.5


def test_no_labelled_clip_gives_nan_not_an_error():
    m = classification_metrics(torch.zeros(2, 3), torch.tensor([-1, -1]))
    assert m.clips == 0 and math.isnan(m.top1)


def test_labels_outside_the_logits_are_an_error():
    with pytest.raises(ValueError, match="outside the 3 classes"):
        classification_metrics(torch.zeros(1, 3), torch.tensor([3]))


def test_two_stream_fusion_adds_logits_and_can_fix_a_stream():
    rgb = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.4, 0.5]])
    flow = torch.tensor([[0.0, 3.0, 0.0], [0.0, 0.5, 0.0]])
    fused = fuse_logits(rgb, flow)
    assert torch.equal(fused, rgb + flow)
    labels = torch.tensor([1, 1])
    assert classification_metrics(rgb, labels).top1 == 0.0
    assert classification_metrics(fused, labels).top1 == 1.0
    with pytest.raises(ValueError, match="disagree"):
        fuse_logits(rgb, flow[:1])


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix(torch.tensor([1, 1]), torch.tensor([0, 1]), 2).tolist() == [[0, 1], [0, 1]]


def test_three_crop_cuts_start_centre_end_of_the_long_side_as_views():
    video = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)  # [C, T, H=4, W=6]
    crops = ThreeCrop(4).crops(video)
    assert crops.shape == (3, 2, 3, 4, 4)
    for view, left in enumerate(three_crop_offsets(6, 4)):
        assert torch.equal(crops[view], video[..., 0:4, left:left + 4])
    stacked = ThreeCrop(2).crops(torch.zeros(5, 2, 3, 4, 6))  # 5 temporal views -> 15 views
    assert stacked.shape == (15, 2, 3, 2, 2)
