"""Classification metrics of per-clip logits: top-1, top-5, per-class accuracy, confusion matrix; two-stream fusion.

Pure functions of tensors. Unlabelled clips (label -1) are left out of every metric. Two-stream
fusion adds the streams' logits with equal weight (DeepMind's evaluation; softmax, if wanted,
comes after).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def fuse_logits(*logits: torch.Tensor) -> torch.Tensor:
    """The two-stream prediction: the sum of the streams' logits ([N, K] each, same clips in the same order)."""
    if not logits:
        raise ValueError("fuse_logits needs at least one stream")
    shapes = {tuple(t.shape) for t in logits}
    if len(shapes) != 1:
        raise ValueError(f"streams disagree on shape: {sorted(shapes)}")
    return torch.stack(logits).sum(dim=0)


def topk_hits(logits: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Bool [N]: whether each clip's label is among its ``k`` highest logits (k capped at the class count)."""
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == labels[:, None]).any(dim=1)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """int64 [K, K]: row = true class, column = predicted class."""
    flat = labels * num_classes + predicted
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


@dataclass(frozen=True)
class ClassificationMetrics:
    """Accuracies as fractions in [0, 1]; ``per_class_accuracy[k]`` is None for a class with no clip."""

    clips: int
    top1: float
    top5: float
    mean_class_accuracy: float
    per_class_accuracy: tuple[float | None, ...]
    per_class_clips: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]

    def as_dict(self, *, class_names: list[str] | None = None, with_confusion: bool = True) -> dict:
        names = class_names or [str(k) for k in range(len(self.per_class_clips))]
        data = {
            "clips": self.clips, "top1": self.top1, "top5": self.top5, "mean_class_accuracy": self.mean_class_accuracy,
            "per_class": [
                {"class": names[k] if k < len(names) else str(k), "clips": n, "accuracy": acc}
                for k, (acc, n) in enumerate(zip(self.per_class_accuracy, self.per_class_clips)) if n
            ],
        }
        if with_confusion:
            data["confusion"] = [list(row) for row in self.confusion]
        return data


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor, *, num_classes: int | None = None) -> ClassificationMetrics:
    """Metrics of [N, K] ``logits`` against [N] ``labels``; unlabelled (-1) clips are ignored."""
    num_classes = num_classes or logits.shape[1]
    labels = labels.to(torch.int64)
    keep = labels >= 0
    logits, labels = logits[keep], labels[keep]
    if labels.numel() and int(labels.max()) >= num_classes:
        raise ValueError(f"label {int(labels.max())} is outside the {num_classes} classes of the logits")
    clips = int(labels.numel())
    if clips == 0:
        empty = tuple(tuple(0 for _ in range(num_classes)) for _ in range(num_classes))
        return ClassificationMetrics(0, float("nan"), float("nan"), float("nan"), (None,) * num_classes,
                                     (0,) * num_classes, empty)
    predicted = logits.argmax(dim=1)
    confusion = confusion_matrix(predicted, labels, num_classes)
    per_class_clips = confusion.sum(dim=1)
    correct = confusion.diagonal()
    per_class = tuple(
        (int(c) / int(n)) if int(n) else None for c, n in zip(correct.tolist(), per_class_clips.tolist())
    )
    present = [acc for acc in per_class if acc is not None]
    return ClassificationMetrics(
        clips=clips,
        top1=int(topk_hits(logits, labels, 1).sum()) / clips,
        top5=int(topk_hits(logits, labels, 5).sum()) / clips,
        mean_class_accuracy=sum(present) / len(present),
        per_class_accuracy=per_class,
        per_class_clips=tuple(per_class_clips.tolist()),
        confusion=tuple(tuple(row) for row in confusion.tolist()),
    )
