"""Helpers for the model tests: seeded random weights, BatchNorm statistics and boring videos."""

from __future__ import annotations

import pytest
import torch
from torch import nn


def randomise_batchnorm(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial scale, shift and statistics so that reusing them is tested."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
    return model


def random_state_dict(template: dict[str, torch.Tensor], *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors shaped like ``template`` (which may live on the meta device); fast at 12M values."""
    generator = torch.Generator().manual_seed(seed)
    return {
        key: torch.randn(value.shape, generator=generator) if value.is_floating_point()
        else torch.tensor(seed + 1, dtype=value.dtype)
        for key, value in template.items()
    }


def boring_video(image: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, C, H, W] image -> [B, C, frames, H, W] video of that image repeated."""
    return image.unsqueeze(2).expand(-1, -1, frames, -1, -1).contiguous()


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny inputs gain nothing from threads, and with the CPUs shared, OpenMP's spinning threads
    made these tests about 20 times slower (measured: a 9x32x32 forward took 1.9 s on 2 threads, 0.04 s on 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(name="randomise_batchnorm", scope="session")
def _randomise_batchnorm():
    return randomise_batchnorm


@pytest.fixture(name="random_state_dict", scope="session")
def _random_state_dict():
    return random_state_dict


@pytest.fixture(name="boring_video", scope="session")
def _boring_video():
    return boring_video
