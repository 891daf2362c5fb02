"""Where a run executes: one process on CPU or a GPU, or one of many processes started by ``torchrun``.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; when ``WORLD_SIZE > 1``
:func:`start` joins the process group (NCCL on CUDA, Gloo on CPU) and gives each process the GPU
``cuda:LOCAL_RANK``. Rank 0 alone logs and writes checkpoints (``Runtime.is_main``).

Launch lines (see docs/training.md)::

    torchrun --standalone --nproc-per-node 8 -m kinetics train --root R ...              # one node
    torchrun --nnodes 4 --nproc-per-node 8 --node-rank $NODE \\
             --rdzv-backend c10d --rdzv-endpoint HOST:29400 --rdzv-id run1 -m kinetics train ...
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist

from kinetics.training.config import ConfigError, Precision


@dataclass(frozen=True)
class Runtime:
    """This process's place in the run and the device and precision it computes with."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    amp: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self):
        """float16 autocast on CUDA when ``amp``; nothing otherwise (CPU runs in fp32)."""
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over every process (the values unchanged in a single process)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"device={name!r} is not a device (auto, cpu, cuda, cuda:N)") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available here (use --device cpu)")
    return device


def use_amp(precision: Precision, device: torch.device) -> bool:
    if precision == "amp" and device.type != "cuda":
        raise ConfigError("precision=amp needs a CUDA device (mixed precision is off on CPU)")
    return precision == "amp" or (precision == "auto" and device.type == "cuda")


def start(*, device: str = "auto", precision: Precision = "auto") -> Runtime:
    """The runtime of this process, joining the ``torchrun`` process group when there is one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if world_size > 1:
        if chosen.type == "cuda":
            chosen = torch.device("cuda", local_rank)
            torch.cuda.set_device(chosen)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    elif chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", torch.cuda.current_device())
    return Runtime(rank, local_rank, world_size, chosen, use_amp(precision, chosen))


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()
