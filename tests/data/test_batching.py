"""collate / stack_batch: the batch default_collate would give, without paying for fresh memory twice."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, default_collate

from kinetics.data.batching import collate, stack_batch
from kinetics.data.buffers import OUTPUT_BUFFERS

SHAPE = (3, 16, 128, 128)  # 3 MiB an item: a batch of 4 is 12 MiB, above the pool's 8 MiB minimum


def samples(count: int) -> list[dict]:
    return [{"rgb": torch.full(SHAPE, float(i)), "label": i, "clip_id": f"c{i}", "start_seconds": 0.5 * i} for i in range(count)]


def test_collate_gives_what_default_collate_gives():
    ours, theirs = collate(samples(4)), default_collate(samples(4))
    assert ours.keys() == theirs.keys()
    for key in theirs:
        if torch.is_tensor(theirs[key]):
            assert torch.equal(ours[key], theirs[key]) and ours[key].dtype == theirs[key].dtype
        else:
            assert ours[key] == theirs[key]


def test_in_the_main_process_large_batches_reuse_memory():
    first = collate(samples(4))["rgb"]
    address = first.data_ptr()
    del first
    second = stack_batch([s["rgb"] for s in samples(4)])
    assert second.data_ptr() == address and float(second[3].mean()) == 3.0
    OUTPUT_BUFFERS.clear()


class Items(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return samples(index + 1)[index]


def _collate_and_report(batch: list[dict]) -> dict:
    out = collate(batch)
    out["stacked_in_shared_memory"] = out["rgb"].is_shared()  # checked where it was stacked: in the worker
    return out


def test_in_a_worker_the_batch_is_stacked_straight_into_shared_memory():
    loader = DataLoader(Items(), batch_size=4, num_workers=1, collate_fn=_collate_and_report)
    batches = list(loader)
    assert [b["stacked_in_shared_memory"] for b in batches] == [True, True]
    assert batches[1]["label"].tolist() == [4, 5, 6, 7] and float(batches[1]["rgb"][0].mean()) == 4.0
