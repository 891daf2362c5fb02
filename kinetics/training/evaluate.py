"""``evaluate(EvalOptions)``: the accuracy of a published (or your) I3D on the clips this corpus actually has.

The paper's test protocol (section 2.3): each clip whole (the middle 250 frames at 25 fps = 10 s,
looped if shorter), short side 256, one centre 224 crop, logits averaged over time; optionally
several temporal views and three crops, averaged. Two-stream: RGB and flow logits added. Reports
top-1, top-5, mean and per-class accuracy, the confusion matrix, the clips evaluated and those
the corpus is missing (from the index: targets vs ok), beside the paper's Table 3, and writes
per-clip predictions to Parquet. This is the *dataset baseline*: how your copy of Kinetics
compares. The paper's figures are on the held-out test set, not val; the report says so.

Before any clip is read, the checkpoint's classes are lined up with the corpus's
(:func:`kinetics.models.classes.match_classes`): a different list is refused, naming both lists and
the first differences; a corpus that has only some of the checkpoint's classes (made with
``--classes``, or a custom manifest of Kinetics names) is mapped by name, and its metrics are
over those classes (the prediction is the best of them); the accuracy over all the checkpoint's
outputs is reported beside them (``all_classes``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch

from kinetics.errors import CorpusError, KineticsError
from kinetics.progress import Progress
from kinetics.training.distributed import resolve_device, use_amp
from kinetics.training.inference import check_classes, corpus_class_list, run_streams, to_checkpoint_labels
from kinetics.training.initialise import load_streams
from kinetics.training.inputs import RecordFailure, make_loader
from kinetics.training.metrics import ClassificationMetrics, classification_metrics, fuse_logits
from kinetics.training.paper import KINETICS_TEST_NOTE, PaperFigure, checkpoint_pretraining, kinetics_figures, paper_stream
from kinetics.training.predictions import predictions_table, write_table_atomic
from kinetics.training.options import EvalOptions


@dataclass(frozen=True)
class EvalReport:
    """Metrics per stream (``rgb``, ``flow``, ``two-stream``) and how many clips they cover."""

    root: str
    split: str
    checkpoints: dict[str, str]
    targets: int  # clips of the split the corpus was asked for (its manifest), or recorded when none
    ok: int  # of those, downloaded ok
    missing: int  # targets not ok (missing, failed or never attempted)
    no_flow: int  # ok clips left out because the flow stream has no ok flow for them
    failed: tuple[tuple[str, str], ...]  # (clip_id, message) of clips that did not decode
    evaluated: int
    metrics: dict[str, ClassificationMetrics]
    class_names: list[str] | None
    paper: tuple[PaperFigure, ...]
    note: str
    protocol: str
    predictions: str | None
    elapsed_seconds: float = 0.0
    classes: str = ""  # how the corpus's classes map onto the checkpoint's ("" when they are the same list)
    all_classes: dict[str, dict[str, float]] | None = None  # subset corpora: top-1/top-5 over every output


    def as_dict(self) -> dict:
        return {
            "root": self.root, "split": self.split, "checkpoints": self.checkpoints, "protocol": self.protocol,
            "clips": {"targets": self.targets, "ok": self.ok, "missing": self.missing, "no_flow": self.no_flow,
                      "failed": len(self.failed), "evaluated": self.evaluated},
            "failed": [{"clip_id": c, "message": m} for c, m in self.failed],
            "metrics": {k: m.as_dict(class_names=self.class_names) for k, m in self.metrics.items()},
            "paper": [f.as_dict() for f in self.paper], "note": self.note,
            "predictions": self.predictions, "elapsed_seconds": round(self.elapsed_seconds, 3),
            "classes": self.classes or None, "all_classes": self.all_classes,
        }

    def format(self) -> str:
        lines = [
            f"{self.split}: {self.evaluated:,} clips evaluated of {self.targets:,} targets "
            f"({self.ok:,} ok in the index, {self.missing:,} missing from this corpus"
            + (f", {self.no_flow:,} without flow" if self.no_flow else "")
            + (f", {len(self.failed):,} failed to decode" if self.failed else "") + ")",
            f"protocol: {self.protocol}",
            *([f"classes: {self.classes}"] if self.classes else []),
            f"{'stream':<12}{'top-1':>8}{'top-5':>8}{'mean class':>12}",
        ]
        for stream, m in self.metrics.items():
            lines.append(f"{stream:<12}{_pct(m.top1):>8}{_pct(m.top5):>8}{_pct(m.mean_class_accuracy):>12}")
        for stream, figures in (self.all_classes or {}).items():
            lines.append(f"{stream:<12}{_pct(figures['top1']):>8}{_pct(figures['top5']):>8}"
                         f"{'':>12}  (over all the checkpoint's outputs)")
        if self.paper:
            lines.append("paper (top-1, top-5 in %):")
            lines.extend(f"  {f.describe()}" for f in self.paper)
        lines.append(f"note: {self.note}")
        if self.predictions:
            lines.append(f"predictions: {self.predictions}")
        return "\n".join(lines)


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f}%"


def evaluate(options: EvalOptions) -> EvalReport:
    """Evaluate ``options.checkpoint`` (and ``flow_checkpoint``) on ``options.split`` of ``options.root``."""
    from kinetics.data.dataset import KineticsDataset

    started = time.perf_counter()
    device = resolve_device(options.device)
    amp = use_amp(options.precision, device)
    models = load_streams(options.checkpoint, options.flow_checkpoint, cache_dir=options.cache_dir,
                          base_url=options.base_url)
    streams = tuple(models)
    dataset = KineticsDataset(
        options.root, options.split, modalities=streams, flow_method=options.flow_method,
        sampling=options.sampling(), spatial=options.spatial(), transform=options.transform(),
        on_error=RecordFailure() if options.on_error == "skip" else "raise",
    )
    if len(dataset) == 0:
        raise CorpusError(f"{options.root}: no ok clips in split {options.split!r} to evaluate")
    num_classes = next(iter(models.values())).num_classes
    mapping = check_classes(models, corpus_class_list(options.root, dataset.classes),
                            checkpoint_name=_checkpoint_names(options),
                            corpus_name=f"the corpus {options.root} (split {options.split})")
    subset = dataset if options.limit is None else torch.utils.data.Subset(dataset, range(min(options.limit, len(dataset))))
    for model in models.values():
        model.to(device)
    loader = make_loader(subset, batch_size=options.batch_size, workers=options.workers,
                         pin_memory=device.type == "cuda")
    with Progress(len(subset), description="evaluate", show=options.progress) as progress:
        outputs = run_streams(models, loader, device=device, amp=amp, on_batch=lambda n: progress.update("ok", n))
    logits = dict(outputs.values)
    if len(streams) == 2:
        logits["two_stream"] = fuse_logits(logits["rgb"], logits["flow"])
    labels = to_checkpoint_labels(outputs.labels, mapping)
    if labels.numel() and int(labels.max()) >= num_classes:
        worst = outputs.clip_ids[int(labels.argmax())]
        raise KineticsError(f"clip {worst} has label_index {int(labels.max())}, outside the checkpoint's "
                            f"{num_classes} classes: is this corpus's class list the checkpoint's?")
    names = list(next(iter(models.values())).classes or dataset.classes or []) or None
    scored, scored_labels, scored_names, all_classes = logits, labels, names, None
    if mapping.subset:  # metrics over the corpus's classes; the unrestricted figures beside them
        covered = torch.tensor(mapping.covered, dtype=torch.int64)
        position = torch.full((num_classes + 1,), -1, dtype=torch.int64)
        position[covered] = torch.arange(len(covered))
        scored = {k: v[:, covered] for k, v in logits.items()}
        scored_labels = position[labels]  # -1 (unlabelled) reads the spare last slot: stays -1
        scored_names = [names[i] for i in mapping.covered] if names else None
        all_classes = {_stream_name(k): {"top1": m.top1, "top5": m.top5} for k, m in
                       ((k, classification_metrics(v, labels, num_classes=num_classes)) for k, v in logits.items())}
    metrics = {_stream_name(k): classification_metrics(v, scored_labels, num_classes=v.shape[1]) for k, v in scored.items()}
    predictions = None
    if options.predictions is not None:
        table = predictions_table(clip_ids=outputs.clip_ids, labels=labels, logits=logits, split=options.split,
                                  class_names=names)
        predictions = str(write_table_atomic(table, options.predictions))
    targets, ok = _index_counts(options.root, options.split)
    checkpoints = {"rgb" if "rgb" in models else "flow": str(options.checkpoint)}
    if options.flow_checkpoint is not None:
        checkpoints["flow"] = str(options.flow_checkpoint)
    return EvalReport(
        root=str(options.root), split=options.split, checkpoints=checkpoints, targets=targets, ok=ok,
        missing=max(targets - ok, 0), no_flow=dataset.counts.no_flow, failed=outputs.failed,
        evaluated=len(outputs), metrics=metrics, class_names=scored_names,
        paper=tuple(_paper_rows(streams, options)), note=KINETICS_TEST_NOTE, protocol=options.describe(),
        predictions=predictions, elapsed_seconds=time.perf_counter() - started, classes=mapping.note,
        all_classes=all_classes,
    )


def _checkpoint_names(options: EvalOptions) -> str:
    if options.flow_checkpoint is None:
        return f"the checkpoint {options.checkpoint}"
    return f"the checkpoints {options.checkpoint} + {options.flow_checkpoint}"


def _stream_name(key: str) -> str:
    return "two-stream" if key == "two_stream" else key


def _paper_rows(streams: tuple[str, ...], options: EvalOptions) -> list[PaperFigure]:
    """Table 3 for each stream evaluated (and two-stream), in the pretraining of the checkpoints when known."""
    pretraining = checkpoint_pretraining(options.checkpoint)
    if options.flow_checkpoint is not None and checkpoint_pretraining(options.flow_checkpoint) != pretraining:
        pretraining = None
    rows: list[PaperFigure] = []
    for stream in (*streams, paper_stream(streams)) if len(streams) == 2 else streams:
        rows.extend(kinetics_figures(stream, pretraining))
    return rows


def _index_counts(root: str | os.PathLike, split: str) -> tuple[int, int]:
    """(targets, ok) of ``split`` from the index: the manifest's clips, or every recorded clip when none was kept."""
    import pyarrow.compute as pc

    from kinetics.corpus.index import CorpusIndex
    from kinetics.corpus.status import targets_with_state

    joined = targets_with_state(CorpusIndex(root), split)
    targets = joined.filter(joined.column("is_target"))
    ok = pc.sum(pc.equal(targets.column("status"), "ok")).as_py() or 0
    return targets.num_rows, ok
