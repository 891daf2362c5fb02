"""``transfer(TransferOptions)``: the paper's UCF-101 / HMDB-51 transfer protocol (section 4, Tables 4 and 5).

Starting from a Kinetics-trained I3D (``init``), for each official split asked for:

* ``fixed``: the network is frozen (eval mode) and only a new last layer is trained, on the
  1024-d pooled features. Training features come from the paper's training input (a random
  64-frame window, random crop and flip; ``fixed_train_views`` such draws per clip, computed once),
  test features from its test input (the whole clip, centre crop); dropout 0.5 before the layer;
* ``full``: the whole network is fine-tuned with :func:`kinetics.training.train.train` (the
  paper's training protocol; a run directory per split and stream under ``out``, resumable), then
  tested on the whole clips.

``stream="both"`` does each stream and adds their test logits (two-stream, as Table 4). Results
are top-1 accuracy per split and the mean over the splits, each beside the paper figure it is
comparable with and what differs (:func:`kinetics.training.paper.transfer_comparisons`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.errors import CorpusError, CorruptClipError
from kinetics.models.i3d import I3D
from kinetics.training.config import TrainConfig
from kinetics.training.distributed import resolve_device, use_amp
from kinetics.training.inference import run_streams
from kinetics.training.initialise import load_stream_model
from kinetics.training.inputs import RecordFailure, clip_dataset, make_loader
from kinetics.training.metrics import fuse_logits, topk_hits
from kinetics.training.paper import Comparison, checkpoint_pretraining, paper_stream, transfer_comparisons
from kinetics.training.options import TransferOptions
from kinetics.training.views import test_sampling, test_spatial

DATASET_NAMES = {"ucf101": "UCF-101", "hmdb51": "HMDB-51"}


@dataclass(frozen=True)
class SplitResult:
    split: int
    test_clips: int
    train_clips: int
    top1: dict[str, float]  # stream (rgb, flow, two-stream) -> accuracy in [0, 1]


@dataclass(frozen=True)
class TransferReport:
    dataset: str
    mode: str
    stream: str
    init: dict[str, str]
    splits: tuple[SplitResult, ...]
    mean_top1: dict[str, float]
    paper: tuple[Comparison, ...]
    elapsed_seconds: float

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset, "mode": self.mode, "stream": self.stream, "init": self.init,
            "splits": [{"split": s.split, "train_clips": s.train_clips, "test_clips": s.test_clips, "top1": s.top1}
                       for s in self.splits],
            "mean_top1": self.mean_top1, "paper": [c.as_dict() for c in self.paper],
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }

    def format(self) -> str:
        keys = list(self.mean_top1)
        lines = [f"{DATASET_NAMES[self.dataset]}, {self.mode} ({'frozen features, new last layer' if self.mode == 'fixed' else 'full fine-tuning'}), "
                 f"init {', '.join(f'{k}: {v}' for k, v in self.init.items())}",
                 f"{'split':<8}" + "".join(f"{k:>12}" for k in keys) + f"{'test clips':>12}"]
        for s in self.splits:
            lines.append(f"{s.split:<8}" + "".join(f"{100 * s.top1[k]:>11.1f}%" for k in keys) + f"{s.test_clips:>12,}")
        if len(self.splits) > 1:
            lines.append(f"{'mean':<8}" + "".join(f"{100 * self.mean_top1[k]:>11.1f}%" for k in keys))
        for c in self.paper:
            lines.append(f"paper {c.figure.describe()} [{c.match}: {c.caveat}]")
        return "\n".join(lines)


def transfer(options: TransferOptions) -> TransferReport:
    """Run the transfer protocol on every split of ``options``; see the module docstring."""
    started = time.perf_counter()
    results = [_one_split(options, split) for split in options.splits]
    keys = list(results[0].top1)
    mean = {k: sum(r.top1[k] for r in results) / len(results) for k in keys}
    pretrainings = {checkpoint_pretraining(options.init_of(s)) for s in options.streams}
    pretraining = pretrainings.pop() if len(pretrainings) == 1 else None
    paper = transfer_comparisons(options.dataset, mode=options.mode, stream=paper_stream(options.streams),
                                 splits=options.splits, pretraining=pretraining)
    return TransferReport(options.dataset, options.mode, options.stream,
                          {s: options.init_of(s) for s in options.streams}, tuple(results), mean, tuple(paper),
                          time.perf_counter() - started)


def _one_split(options: TransferOptions, split: int) -> SplitResult:
    logits: dict[str, torch.Tensor] = {}
    labels = None
    train_clips = 0
    for stream in options.streams:
        run = _fixed if options.mode == "fixed" else _full
        stream_logits, stream_labels, train_clips = run(options, split, stream)
        if labels is not None and not torch.equal(labels, stream_labels):
            raise CorpusError(f"{options.root}: the rgb and flow test sets of split {split} differ (missing flow?)")
        labels, logits[stream] = stream_labels, stream_logits
    if len(logits) == 2:
        logits["two-stream"] = fuse_logits(logits["rgb"], logits["flow"])
    top1 = {k: int(topk_hits(v, labels, 1).sum()) / max(1, int(labels.numel())) for k, v in logits.items()}
    return SplitResult(split, int(labels.numel()), train_clips, top1)


def _dataset(options: TransferOptions, split: int, *, train: bool, sampling: SamplingOptions, spatial: SpatialOptions,
             epoch: int = 0):
    modalities = tuple(options.streams)  # both streams in both runs: the test sets then hold the same clips
    dataset = clip_dataset(dataset=options.dataset, root=options.root, split=split, train=train, modalities=modalities,
                           sampling=sampling, spatial=spatial, flow_method=options.flow_method,
                           on_error=RecordFailure(), seed=options.seed)
    if len(dataset) == 0:
        raise CorpusError(f"{options.root}: no {DATASET_NAMES[options.dataset]} split {split} "
                          f"{'train' if train else 'test'} videos found (kinetics prepare {options.dataset})")
    dataset.set_epoch(epoch)
    return dataset


def _test_outputs(options: TransferOptions, split: int, stream: str, model: I3D, device, amp: bool,
                  output: str = "logits") -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (or embeddings) of the split's test videos, whole clip and centre crop, and their labels."""
    dataset = _dataset(options, split, train=False,
                       sampling=test_sampling(frames=options.eval_frames, fps=options.fps),
                       spatial=test_spatial(short_side_pixels=options.short_side_pixels, crop_pixels=options.crop_pixels))
    loader = make_loader(dataset, batch_size=1, workers=options.workers)
    outputs = run_streams({stream: model}, loader, device=device, amp=amp, output=output)
    _check_loaded(outputs, options, split, "test")
    return outputs.values[stream], outputs.labels


def _check_loaded(outputs, options: TransferOptions, split: int, subset: str) -> None:
    """Every listed video must load: a result on fewer would not be the split's accuracy."""
    if outputs.failed:
        shown = "; ".join(f"{clip}: {message}" for clip, message in outputs.failed[:3])
        raise CorruptClipError(options.root, f"{len(outputs.failed)} {DATASET_NAMES[options.dataset]} split {split} "
                               f"{subset} video(s) did not load ({shown})")


def _fixed(options: TransferOptions, split: int, stream: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Frozen I3D features, a new logits layer trained on them; returns (test logits, test labels, train clips)."""
    device = resolve_device(options.device)
    amp = use_amp(options.precision, device)
    model = load_stream_model(options.init_of(stream), stream=stream, dropout=options.dropout,
                              cache_dir=options.cache_dir, base_url=options.base_url).to(device)
    train_features, train_labels = [], []
    for view in range(options.fixed_train_views):
        dataset = _dataset(options, split, train=True, epoch=view,
                           sampling=SamplingOptions.train(num_frames=options.frames, fps=options.fps),
                           spatial=SpatialOptions.train(short_side_pixels=options.short_side_pixels,
                                                        crop_pixels=options.crop_pixels))
        outputs = run_streams({stream: model}, make_loader(dataset, batch_size=1, workers=options.workers),
                              device=device, amp=amp, output="embedding")
        _check_loaded(outputs, options, split, "train")
        train_features.append(outputs.values[stream])
        train_labels.append(outputs.labels)
    num_classes = len(dataset.classes or []) or int(torch.cat(train_labels).max()) + 1
    torch.manual_seed(options.seed)
    model.replace_logits(num_classes)
    _fit_last_layer(model, torch.cat(train_features).to(device), torch.cat(train_labels).to(device), options)
    test_embeddings, test_labels = _test_outputs(options, split, stream, model, device, amp, output="embedding")
    model.eval()
    with torch.inference_mode():
        logits = model.classify(test_embeddings.to(device)).float().cpu()
    return logits, test_labels, len(dataset)


def _fit_last_layer(model: I3D, features: torch.Tensor, labels: torch.Tensor, options: TransferOptions) -> None:
    """SGD on the logits layer alone (dropout before it), minibatches of the cached features."""
    params = list(model.logits.parameters())
    lr = options.lr if options.lr is not None else 0.1
    optimizer = torch.optim.SGD(params, lr=lr, momentum=options.momentum, weight_decay=options.weight_decay)
    batch = options.batch_size or 64
    generator = torch.Generator().manual_seed(options.seed)
    model.eval()
    model.dropout.train()  # the backbone stays frozen (BatchNorm in eval); only the dropout is active
    for _ in range(options.epochs):
        order = torch.randperm(len(labels), generator=generator).to(features.device)
        for start in range(0, len(order), batch):
            take = order[start:start + batch]
            loss = F.cross_entropy(model.classify(features[take]), labels[take])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.dropout.eval()


def _full(options: TransferOptions, split: int, stream: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Fine-tune end to end with ``train``, then test; returns (test logits, test labels, train clips)."""
    from kinetics.training.train import train

    config = TrainConfig(
        root=options.root, dataset=options.dataset, fold=split, stream=stream, init="checkpoint",
        init_weights=options.init_of(stream), frames=options.frames, fps=options.fps,
        short_side_pixels=options.short_side_pixels, crop_pixels=options.crop_pixels, flow_method=options.flow_method,
        batch_size=options.batch_size or 6, epochs=options.epochs, max_steps=options.max_steps,
        lr=options.lr if options.lr is not None else 0.01, momentum=options.momentum,
        weight_decay=options.weight_decay, dropout=options.dropout, val_split=None,
        out=options.out / f"{options.dataset}-split{split}-{stream}", resume=True, workers=options.workers,
        device=options.device, precision=options.precision, seed=options.seed, cache_dir=options.cache_dir,
        base_url=options.base_url,
    )
    summary = train(config, progress=options.progress)
    device = resolve_device(options.device)
    model = load_stream_model(summary.model, stream=stream).to(device)
    logits, labels = _test_outputs(options, split, stream, model, device, use_amp(options.precision, device))
    return logits, labels, summary.train_clips
