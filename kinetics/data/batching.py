"""Batching items into a DataLoader batch without paying for fresh memory twice.

A batch of four 64x224x224 items is 154 MB. ``torch.stack`` puts it in fresh memory, which the
kernel must fault in page by page (about 28 ms per item on a small VM). In a DataLoader worker,
a batch that is not already in shared memory is copied there again when it is sent to the main
process. ``stack_batch`` avoids both: in a worker it stacks straight into shared memory (as
``default_collate`` does); in the main process large float batches go into the reused buffers of
``kinetics.data.buffers``.
"""

from __future__ import annotations

import torch
from torch.utils.data import default_collate, get_worker_info

from kinetics.data.buffers import OUTPUT_BUFFERS


def stack_batch(tensors: list[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(tensors)`` into shared memory in a worker, into reused memory otherwise."""
    if get_worker_info() is not None:
        return default_collate(tensors)
    first = tensors[0]
    if first.dtype != torch.float32 or any(t.shape != first.shape for t in tensors):
        return torch.stack(tensors)
    return torch.stack(tensors, out=OUTPUT_BUFFERS.empty((len(tensors), *first.shape)))


def collate(samples: list[dict]) -> dict:
    """``default_collate`` for the datasets' dict samples, with tensors stacked by :func:`stack_batch`.

    ``DataLoader(dataset, batch_size=8, collate_fn=kinetics.data.collate)``.
    """
    if get_worker_info() is not None:
        return default_collate(samples)
    return {key: stack_batch(values) if torch.is_tensor(values[0]) else default_collate(values)
            for key, values in ((key, [sample[key] for sample in samples]) for key in samples[0])}
