"""Output buffers: reused once nothing refers to them, never while anything does, within a limit."""

from __future__ import annotations

import gc
import os

import pytest
import torch

from kinetics.data.buffers import OUTPUT_BUFFERS, BufferPool

SHAPE = (3, 8, 256, 256)  # 6 MiB
SIZE = 3 * 8 * 256 * 256 * 4


def test_a_freed_buffer_is_handed_out_again_already_written():
    pool = BufferPool(min_bytes=1 << 20)
    first = pool.empty(SHAPE)
    first.fill_(7.0)
    address = first.data_ptr()
    del first
    assert pool.held_bytes == SIZE
    second = pool.empty(SHAPE)
    assert second.data_ptr() == address and float(second[0, 0, 0, 0]) == 7.0  # same memory, not zeroed again
    assert pool.held_bytes == 0


def test_a_buffer_still_referenced_is_never_reused():
    pool = BufferPool(min_bytes=1 << 20)
    first = pool.empty(SHAPE)
    view = first[1:, 2]  # a view keeps the buffer alive, as collate's inputs or a user's list would
    del first
    gc.collect()
    assert pool.held_bytes == 0
    second = pool.empty(SHAPE)
    assert second.data_ptr() != view.data_ptr() - view.storage_offset() * 4
    view.fill_(1.0)
    second.fill_(2.0)
    assert float(view.min()) == 1.0
    del view
    assert pool.held_bytes == SIZE


def test_the_pool_keeps_no_more_than_its_limit():
    pool = BufferPool(limit_bytes=2 * SIZE, min_bytes=1 << 20)
    tensors = [pool.empty(SHAPE) for _ in range(4)]
    del tensors
    assert pool.held_bytes == 2 * SIZE
    pool.clear()
    assert pool.held_bytes == 0
    off = BufferPool(limit_bytes=0, min_bytes=1 << 20)
    off.empty(SHAPE)
    assert off.held_bytes == 0


def test_small_tensors_are_ordinary_torch_tensors():
    pool = BufferPool(min_bytes=1 << 20)
    small = pool.empty((3, 4, 8, 8))
    assert small.shape == (3, 4, 8, 8) and small.dtype == torch.float32
    del small
    assert pool.held_bytes == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_starts_with_an_empty_pool():
    OUTPUT_BUFFERS.empty((3, 64, 128, 128))  # 12 MiB, freed at once: the parent now holds it
    assert OUTPUT_BUFFERS.held_bytes > 0
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        os.write(write, str(OUTPUT_BUFFERS.held_bytes).encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 64) == b"0"
    OUTPUT_BUFFERS.clear()
