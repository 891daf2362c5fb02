"""Run one or two I3D streams over a loader of clips: per-clip logits or embeddings, views averaged.

Used by validation, evaluation, transfer and feature extraction alike. A batch may carry several
views per clip (``[B, V, C, T, H, W]``: temporal windows and/or spatial crops); each view goes
through the network and the clip's output is the mean over its views, as the paper's test averages
over time. Inference runs with ``torch.inference_mode`` and, on CUDA with ``amp``, float16 autocast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from kinetics.models.classes import (
    ClassMapping,
    class_list_for_version,
    class_names,
    match_classes,
)
from kinetics.models.i3d import I3D

Output = Literal["logits", "embedding"]


@dataclass(frozen=True)
class StreamOutputs:
    """Per-clip outputs in loader order: ``values[stream]`` is [N, classes] logits or [N, 1024] embeddings."""

    clip_ids: list[str]
    labels: torch.Tensor  # [N] int64, -1 where unlabelled
    values: dict[str, torch.Tensor]
    failed: tuple[tuple[str, str], ...] = ()  # (clip_id, message) of clips that did not load

    def __len__(self) -> int:
        return len(self.clip_ids)


def forward_views(model: I3D, clips: torch.Tensor, *, output: Output = "logits") -> torch.Tensor:
    """[B, C, T, H, W] -> [B, K]; [B, V, C, T, H, W] -> the mean over the V views, [B, K]."""
    run = model.embed if output == "embedding" else model
    if clips.dim() == 5:
        return run(clips)
    batch, views = clips.shape[:2]
    out = run(clips.flatten(0, 1))
    return out.view(batch, views, -1).mean(dim=1)


def run_streams(
    models: Mapping[str, I3D],
    loader,
    *,
    device: torch.device,
    amp: bool = False,
    output: Output = "logits",
    on_batch: Callable[[int], None] | None = None,
) -> StreamOutputs:
    """Every clip of ``loader`` through each model of ``models`` (keyed by the sample key it reads: rgb, flow)."""
    clip_ids: list[str] = []
    failed: list[tuple[str, str]] = []
    labels: list[torch.Tensor] = []
    values: dict[str, list[torch.Tensor]] = {stream: [] for stream in models}
    for model in models.values():
        model.eval()
    autocast = torch.autocast("cuda", dtype=torch.float16, enabled=amp and device.type == "cuda")
    with torch.inference_mode():
        for batch in loader:
            broken = batch.get("failed", ())
            failed.extend(broken)
            if batch["clip_id"]:
                for stream, model in models.items():
                    clips = batch[stream].to(device, non_blocking=True)
                    with autocast:
                        out = forward_views(model, clips, output=output)
                    values[stream].append(out.float().cpu())
                clip_ids.extend(batch["clip_id"])
                labels.append(torch.as_tensor(batch["label"], dtype=torch.int64))
            if on_batch is not None:
                on_batch(len(batch["clip_id"]) + len(broken))
    empty = torch.empty(0, dtype=torch.int64)
    return StreamOutputs(
        clip_ids,
        torch.cat(labels) if labels else empty,
        {stream: torch.cat(chunks) if chunks else torch.empty(0, 0) for stream, chunks in values.items()},
        tuple(failed),
    )


@dataclass(frozen=True)
class LossAndAccuracy:
    loss_sum: float
    correct: int
    clips: int

    @property
    def loss(self) -> float:
        return self.loss_sum / self.clips if self.clips else float("nan")

    @property
    def top1(self) -> float:
        return self.correct / self.clips if self.clips else float("nan")


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> LossAndAccuracy:
    """Summed cross-entropy and top-1 hits over the labelled clips (label >= 0)."""
    keep = labels >= 0
    logits, labels = logits[keep], labels[keep]
    if labels.numel() == 0:
        return LossAndAccuracy(0.0, 0, 0)
    loss = F.cross_entropy(logits.float(), labels, reduction="sum").item()
    return LossAndAccuracy(loss, int((logits.argmax(dim=1) == labels).sum()), int(labels.numel()))


# -- which class each output is -----------------------------------------------------------------------
def corpus_class_list(root: str | os.PathLike, names: Sequence[str] | None) -> list[str] | None:
    """The class list a corpus's label_index refers to: its Kinetics version's whole shipped list when the
    names it has agree with it (a corpus made with ``--classes`` has only some), else ``names`` itself."""
    if not names:
        return None if names is None else list(names)
    shipped = _version_list(root)
    if shipped is not None and all(not n or (i < len(shipped) and shipped[i] == n) for i, n in enumerate(names)):
        return list(shipped)
    return list(names)


def _version_list(root: str | os.PathLike) -> tuple[str, ...] | None:
    """The shipped class list of the one Kinetics version the corpus's targets (or clips) come from, if any."""
    import pyarrow.compute as pc

    from kinetics.corpus.index import CorpusIndex

    index = CorpusIndex(root)
    table = index.targets.read(["version"])
    if not table.num_rows:
        table = index.clip_state(columns=["version"])
    versions = [v for v in pc.unique(table.column("version")).to_pylist() if v] if table.num_rows else []
    name = class_list_for_version(versions[0]) if len(versions) == 1 else None
    return class_names(name) if name else None


def check_classes(
    models: Mapping[str, I3D], corpus: Sequence[str] | None, *, checkpoint_name: str, corpus_name: str
) -> ClassMapping:
    """How the corpus's labels line up with the models' outputs; ``ClassListError`` when they cannot."""
    model = next(iter(models.values()))
    classes = next((m.classes for m in models.values() if m.classes is not None), None)
    return match_classes(classes, corpus, num_classes=model.num_classes, checkpoint_name=checkpoint_name,
                         corpus_name=corpus_name)


def to_checkpoint_labels(labels: torch.Tensor, mapping: ClassMapping) -> torch.Tensor:
    """Corpus label indices -> the checkpoint's output indices (-1 stays -1)."""
    if mapping.identity:
        return labels
    table = torch.tensor([*mapping.to_checkpoint, -1], dtype=torch.int64)  # index -1 reads the final -1
    return table[labels.clamp(min=-1, max=len(mapping.to_checkpoint))]
