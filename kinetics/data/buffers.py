"""Large output tensors whose memory is reused once nothing refers to them any more.

Every training item is a fresh 38 MB float tensor (3x64x224x224). Fresh memory costs the kernel
a page fault and a zeroed page for each 4 KiB (or 2 MiB huge page) the decoder first writes: on
small virtual machines that was a quarter of an item's time (measured: 8.6 ms to fault in and
fill 38 MB of huge pages, 30 ms with 4 KiB pages, 2.7 ms to fill memory already mapped). So the
buffer behind an item's tensor is kept when the tensor is freed (by ``collate``, or after the
training step) and handed to the next item of the same size, already mapped.

A buffer returns to the pool only when Python drops the last reference to the array behind the
tensor, so a tensor the caller keeps, or any view of it, is never written again. The pool holds
at most ``limit_bytes``; ``OUTPUT_BUFFERS.limit_bytes = 0`` turns reuse off.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import weakref

import numpy as np
import torch

_HUGE_PAGES = hasattr(mmap, "MADV_HUGEPAGE")


class BufferPool:
    """Hands out float32 tensors backed by anonymous memory maps (huge pages where the kernel allows)."""

    def __init__(self, *, limit_bytes: int = 512 << 20, min_bytes: int = 8 << 20):
        self.limit_bytes = limit_bytes
        self.min_bytes = min_bytes  # smaller tensors come from torch's allocator as usual
        self._free: dict[int, list[mmap.mmap | np.ndarray]] = {}
        self._held_bytes = 0
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        """Bytes kept for reuse right now (not counting buffers in use)."""
        return self._held_bytes

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        """An uninitialised float32 tensor of ``shape``: the caller must write every element."""
        count = math.prod(shape)
        size = count * 4
        if size < self.min_bytes:
            return torch.empty(shape)
        buffer = self._take(size) or _map(size)
        array = np.frombuffer(buffer, np.float32, count=count).reshape(shape)
        weakref.finalize(array, self._give_back, buffer).atexit = False
        return torch.from_numpy(array)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._held_bytes = 0

    def _forget(self) -> None:
        """In a forked DataLoader worker: writing to pages shared copy-on-write with the parent would
        fault anyway, so the child starts empty (with a fresh lock: the parent's may be held)."""
        self._free = {}
        self._held_bytes = 0
        self._lock = threading.Lock()

    def _take(self, size: int) -> mmap.mmap | np.ndarray | None:
        with self._lock:
            spare = self._free.get(size)
            if not spare:
                return None
            self._held_bytes -= size
            return spare.pop()

    def _give_back(self, buffer: mmap.mmap | np.ndarray) -> None:
        with self._lock:
            if self._held_bytes + len(buffer) <= self.limit_bytes:
                self._free.setdefault(len(buffer), []).append(buffer)
                self._held_bytes += len(buffer)


def _map(size: int) -> mmap.mmap | np.ndarray:
    if not hasattr(mmap, "MAP_ANONYMOUS"):  # Windows: no private anonymous maps; reuse still pays
        return np.empty(size, np.uint8)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if _HUGE_PAGES:
        buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


OUTPUT_BUFFERS = BufferPool()
"""The pool the decoders write items into (one per process)."""


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=OUTPUT_BUFFERS._forget)
