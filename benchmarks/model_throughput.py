"""I3D throughput: inference and training-step clips per second at 64x224x224 (the paper's training clip).

    python benchmarks/model_throughput.py                      # CPU here; CUDA (with AMP) where present
    python benchmarks/model_throughput.py --frames 16 --iters 2 --variants fp32 channels_last
    python benchmarks/model_throughput.py --device cuda --batch-size 8 --json

Each variant is measured in the same run as the baseline (fp32, default memory layout, eager) and
printed with its ratio to it, so figures from a busy machine still compare: ``amp`` is autocast
(float16 on CUDA, bfloat16 on CPU) with a gradient scaler on CUDA, ``channels_last`` stores
activations NDHWC. The input is random: throughput does not depend on the pixels.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from kinetics.models.i3d import I3D

VARIANTS = ("fp32", "channels_last", "amp", "amp_channels_last")


@dataclass(frozen=True)
class Figure:
    mode: str
    variant: str
    clips_per_second: float
    seconds_per_batch: float
    ratio_to_baseline: float


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device: torch.device, variant: str):
    if not variant.startswith("amp"):
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16)


def _prepare(model: I3D, clips: torch.Tensor, variant: str) -> tuple[I3D, torch.Tensor]:
    if variant.endswith("channels_last"):
        return model.to(memory_format=torch.channels_last_3d), clips.to(memory_format=torch.channels_last_3d)
    return model.to(memory_format=torch.contiguous_format), clips.contiguous()


def _time(step, *, device: torch.device, warmup: int, iters: int) -> float:
    for _ in range(warmup):
        step()
    _sync(device)
    seconds = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def measure(model: I3D, clips: torch.Tensor, labels: torch.Tensor, *, mode: str, variant: str, warmup: int, iters: int) -> float:
    """Median seconds per batch of one forward (no grad, eval) or one SGD training step."""
    device = clips.device
    model, clips = _prepare(model, clips, variant)
    if mode == "forward":
        model.eval()

        def step() -> None:
            with torch.inference_mode(), _autocast(device, variant):
                model(clips)

        return _time(step, device=device, warmup=warmup, iters=iters)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=variant.startswith("amp") and device.type == "cuda")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, variant):
            loss = F.cross_entropy(model(clips), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return _time(step, device=device, warmup=warmup, iters=iters)


def random_inputs(device: torch.device, *, batch: int, frames: int, size: int) -> tuple[I3D, torch.Tensor, torch.Tensor]:
    """A 400-class RGB I3D, a batch of random clips in [-1, 1] and random labels, seeded."""
    torch.manual_seed(0)
    model = I3D(400).to(device)
    clips = torch.rand(batch, 3, frames, size, size, device=device) * 2 - 1
    labels = torch.randint(0, 400, (batch,), device=device)
    return model, clips, labels


def measure_all(model: I3D, clips: torch.Tensor, labels: torch.Tensor, *, modes: list[str], variants: list[str],
                warmup: int, iters: int) -> Iterator[Figure]:
    """Each mode with each variant in turn; ratios are to the mode's first variant (the baseline)."""
    batch = clips.shape[0]
    for mode in modes:
        baseline = None
        for variant in variants:
            seconds = measure(model, clips, labels, mode=mode, variant=variant, warmup=warmup, iters=iters)
            baseline = baseline or seconds
            yield Figure(mode, variant, batch / seconds, seconds, baseline / seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8 on CUDA, 1 on CPU")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--size", type=int, default=224, help="height and width in pixels")
    parser.add_argument("--modes", nargs="+", choices=["forward", "train"], default=["forward", "train"])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=None,
                        help="default: fp32 and amp on CUDA, fp32 and channels_last on CPU (fp32 is the baseline)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    batch = args.batch_size or (8 if cuda else 1)
    variants = args.variants or (["fp32", "amp", "amp_channels_last"] if cuda else ["fp32", "channels_last"])
    if "fp32" not in variants:
        variants = ["fp32", *variants]
    if cuda:
        torch.backends.cudnn.benchmark = True
    model, clips, labels = random_inputs(device, batch=batch, frames=args.frames, size=args.size)

    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({platform.processor() or platform.machine()})"
    header = {
        "device": name, "torch": torch.__version__, "threads": torch.get_num_threads(), "batch_size": batch,
        "clip": f"{args.frames}x{args.size}x{args.size}", "iters": args.iters, "warmup": args.warmup,
    }
    if not args.json:
        print(" ".join(f"{k}={v}" for k, v in header.items()), flush=True)
    measured: list[Figure] = []
    for figure in measure_all(model, clips, labels, modes=args.modes, variants=variants, warmup=args.warmup, iters=args.iters):
        measured.append(figure)
        if not args.json:
            print(f"{figure.mode:8s} {figure.variant:18s} {figure.clips_per_second:9.3f} clips/s  "
                  f"{figure.seconds_per_batch * 1000:10.1f} ms/batch  x{figure.ratio_to_baseline:.2f} vs fp32", flush=True)
    if args.json:
        json.dump({**header, "figures": [asdict(f) for f in measured]}, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
