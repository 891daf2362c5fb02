"""What a run reads: the datasets a TrainConfig names, a resumable sampler and the DataLoader over them.

Batches are reproducible: the sampler's order is a function of (seed, epoch) and each clip's crop,
flip and start frame are a function of (seed, epoch, item) (``ClipDataset.generator``), so the
batches do not depend on the number of DataLoader workers, and a run resumed after ``k`` batches
reads exactly the batches the uninterrupted run would have read next. The DataLoader gets its own
``torch.Generator`` so that creating an iterator never draws from the global RNG (which holds the
dropout stream the checkpoint restores).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator

import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader, DistributedSampler

from kinetics.data.batching import stack_batch
from kinetics.data.clips import ClipDataset
from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.errors import CorpusError
from kinetics.training.config import TrainConfig, TrainDataset


class ResumableSampler(DistributedSampler):
    """DistributedSampler (also for one process) that can start an epoch after its first ``skip`` items.

    ``set_epoch(epoch, skip=n)``: this epoch's order, less the first ``n`` items of this rank's share.
    """

    def __init__(self, dataset, *, num_replicas: int = 1, rank: int = 0, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.skip = 0

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        super().set_epoch(epoch)
        self.skip = max(0, int(skip))

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.skip:])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)


def clip_dataset(
    *,
    dataset: TrainDataset,
    root: str | os.PathLike,
    split: str | int,
    train: bool,
    modalities: tuple[str, ...],
    sampling: SamplingOptions,
    spatial: SpatialOptions,
    flow_method: str = "tvl1",
    on_error: str = "raise",
    seed: int = 0,
    transform=None,
) -> ClipDataset:
    """KineticsDataset (``split`` is a split name) or UCF101/HMDB51Dataset (``split`` is 1, 2 or 3; ``train`` picks the subset)."""
    common = dict(sampling=sampling, spatial=spatial, modalities=modalities, flow_method=flow_method,
                  on_error=on_error, seed=seed, transform=transform)
    if dataset == "kinetics":
        from kinetics.data.dataset import KineticsDataset

        return KineticsDataset(root, str(split), **common)
    from kinetics.data.video_folders import HMDB51Dataset, UCF101Dataset

    cls = UCF101Dataset if dataset == "ucf101" else HMDB51Dataset
    return cls(root, int(split), train, **common)


def train_dataset(config: TrainConfig) -> ClipDataset:
    """The paper's training input: random ``frames``-frame windows, random crop and flip."""
    return clip_dataset(
        dataset=config.dataset, root=config.root, split=config.split if config.dataset == "kinetics" else config.fold,
        train=True, modalities=(config.stream,),
        sampling=SamplingOptions.train(num_frames=config.frames, fps=config.fps),
        spatial=SpatialOptions(config.short_side_pixels, config.crop_pixels, "random", config.flip),
        flow_method=config.flow_method, on_error=config.on_error, seed=config.seed,
    )


def val_dataset(config: TrainConfig) -> ClipDataset | None:
    """Centre windows of the training length with a centre crop, for the validation loss; None without one."""
    if config.dataset != "kinetics" or config.val_split is None:
        return None
    try:
        dataset = clip_dataset(
            dataset="kinetics", root=config.root, split=config.val_split, train=False, modalities=(config.stream,),
            sampling=SamplingOptions("center", config.frames, config.fps),
            spatial=SpatialOptions.test(short_side_pixels=config.short_side_pixels, crop_pixels=config.crop_pixels),
            flow_method=config.flow_method, on_error=config.on_error, seed=config.seed,
        )
    except CorpusError:
        return None
    if len(dataset) == 0:
        return None
    if config.val_max_clips is not None and len(dataset) > config.val_max_clips:
        dataset = torch.utils.data.Subset(dataset, range(config.val_max_clips))
    return dataset


def class_count(config: TrainConfig, dataset: ClipDataset) -> int:
    """``config.classes``, else the label space of the corpus (all splits and targets), else the dataset's."""
    if config.classes is not None:
        return config.classes
    if config.dataset == "kinetics":
        return kinetics_class_count(config.root)
    if dataset.classes:
        return len(dataset.classes)
    raise CorpusError(f"{config.root}: cannot tell the number of classes; pass --classes")


def kinetics_class_count(root: str | os.PathLike) -> int:
    """1 + the largest label_index in the index (targets and attempts of every split)."""
    from kinetics.corpus.index import CorpusIndex

    index = CorpusIndex(root)
    largest = -1
    for table in (index.target_table(), index.clip_state(columns=["label_index"])):
        if table.num_rows:
            largest = max(largest, pc.max(table.column("label_index")).as_py() or -1)
    if largest < 0:
        raise CorpusError(f"{Path(root)}: the index has no labelled clip; pass --classes")
    return largest + 1


def make_loader(
    dataset,
    *,
    batch_size: int,
    workers: int,
    sampler: torch.utils.data.Sampler | None = None,
    pin_memory: bool = False,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader with its own generator (see the module docstring) and no persistent workers (epochs change)."""
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, shuffle=False, num_workers=workers,
        pin_memory=pin_memory, drop_last=drop_last, generator=torch.Generator().manual_seed(0),
        collate_fn=collate_clips, persistent_workers=False,
    )


class RecordFailure:
    """``on_error`` for evaluation: a clip that fails to load becomes a failure record, not a replacement clip.

    The sample it returns carries ``error`` and no tensors; :func:`collate_clips` moves it to the
    batch's ``failed`` list, so every clip is evaluated at most once and failures are counted by name.
    """

    def __call__(self, error: Exception, record) -> dict:
        return {"clip_id": record.clip_id, "label": int(record.label_index), "error": str(error)}


def collate_clips(samples: list[dict]) -> dict:
    """Stack tensors, keep ``clip_id`` as a list, make ``label`` an int64 tensor; ``failed`` lists
    ``(clip_id, message)`` of the samples :class:`RecordFailure` marked (left out of the rest)."""
    failed = [(s["clip_id"], s["error"]) for s in samples if "error" in s]
    samples = [s for s in samples if "error" not in s]
    batch: dict = {"failed": failed, "clip_id": [], "label": torch.empty(0, dtype=torch.int64)}
    for key in samples[0] if samples else ():
        values = [s[key] for s in samples]
        if isinstance(values[0], torch.Tensor):
            batch[key] = stack_batch(values)
        elif key in ("label", "index"):
            batch[key] = torch.tensor(values, dtype=torch.int64)
        else:
            batch[key] = values
    return batch


def epoch_batches(num_items: int, *, batch_size: int, world_size: int) -> tuple[int, bool]:
    """(optimizer steps per epoch, drop_last): each rank gets ceil(N / world) items in whole batches,
    the incomplete last batch dropped, unless the share is smaller than one batch (then it is the batch)."""
    per_rank = math.ceil(num_items / world_size)
    if per_rank >= batch_size:
        return per_rank // batch_size, True
    return 1, False
