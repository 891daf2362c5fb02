"""Training throughput: I3D forward and training-step clips/s, and the data-wait fraction of `kinetics train`.

    python benchmarks/train_throughput.py                          # 64x224x224 (the paper's clip), CPU or CUDA
    python benchmarks/train_throughput.py --frames 16 --size 112 --steps 4 --workers 0 2
    python benchmarks/train_throughput.py --skip-model --json

Part 1 reuses benchmarks/model_throughput.py's ``measure_all`` (no second copy of that code): forward
(eval, inference mode) and SGD training steps on random clips, fp32 as the baseline and AMP on CUDA
with its ratio to it. Part 2 runs the real ``kinetics train`` command (``main(["train", ...])``) on a
corpus of synthetic 320x240 clips made with ffmpeg, for each ``--workers`` value, and reports the
fraction of step time spent waiting for the DataLoader (``data_wait_fraction``, from the run's
summary) and clips/s, with the ratio of each to the first ``--workers`` value (the baseline; 0 =
loading in the training process). On a GPU a high fraction means the GPU starves; on a CPU the
model is so slow that the fraction is small.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "data"))

from media import make_clip  # noqa: E402
from model_throughput import measure_all, random_inputs  # noqa: E402
from numbered_media import add_clip, write_index  # noqa: E402

from kinetics.cli.main import main as kinetics_main  # noqa: E402

CLASSES = ("abseiling", "air_drumming", "archery", "arm_wrestling")


def model_figures(*, device: torch.device, batch: int, frames: int, size: int, iters: int) -> list[dict]:
    model, clips, labels = random_inputs(device, batch=batch, frames=frames, size=size)
    variants = ["fp32", "amp"] if device.type == "cuda" else ["fp32"]
    return [{"mode": f.mode, "variant": f.variant, "clips_per_second": round(f.clips_per_second, 3),
             "ratio_to_fp32": round(f.ratio_to_baseline, 2)}
            for f in measure_all(model, clips, labels, modes=["forward", "train"], variants=variants, warmup=1, iters=iters)]


def build_corpus(root: Path, *, clips_per_class: int) -> None:
    source = make_clip(root / ".source.mp4", seconds=4.0, fps=25.0, width=320, height=240, audio=False)
    records = []
    for label_index, label in enumerate(CLASSES):
        for n in range(clips_per_class):
            clip_id = f"{label[:4]}{label_index}{n:06d}"[:11].ljust(11, "x") + f"_{n:06d}_{n + 10:06d}"
            records.append(add_clip(root, source, clip_id=clip_id, split="train", label=label, label_index=label_index,
                                    fps=25.0, frames=100, width=320, height=240))
    write_index(root, records)


def train_figures(root: Path, out: Path, *, workers: list[int], device: str, batch: int, frames: int, size: int,
                  steps: int) -> list[dict]:
    figures = []
    for count in workers:
        argv = ["train", "--root", str(root), "--out", str(out / f"w{count}"), "--device", device,
                "--batch-size", str(batch), "--frames", str(frames), "--crop-pixels", str(size),
                "--short-side-pixels", str(max(size, 128)), "--max-steps", str(steps), "--workers", str(count),
                "--val-split", "none", "--log-every-steps", "1", "--no-tensorboard", "--no-progress", "--json"]
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            code = kinetics_main(argv)
        if code != 0:
            raise SystemExit(f"kinetics train failed with exit code {code}")
        summary = json.loads(captured.getvalue())
        figures.append({"workers": count, "data_wait_fraction": round(summary["data_wait_fraction"], 3),
                        "clips_per_second": round(summary["clips_per_second"], 3), "steps": summary["steps"]})
    base = figures[0]
    for figure in figures:
        figure["clips_per_second_ratio"] = round(figure["clips_per_second"] / base["clips_per_second"], 2)
        figure["data_wait_ratio"] = round(figure["data_wait_fraction"] / base["data_wait_fraction"], 2) \
            if base["data_wait_fraction"] else None
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8 on CUDA, 1 on CPU")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--iters", type=int, default=2, help="timed iterations of part 1")
    parser.add_argument("--steps", type=int, default=3, help="training steps per `kinetics train` run (part 2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers; the first is the baseline")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--skip-model", action="store_true", help="only part 2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batch = args.batch_size or (8 if device.type == "cuda" else 1)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})"
    header = {"device": name, "threads": torch.get_num_threads(), "batch_size": batch,
              "clip": f"{args.frames}x{args.size}x{args.size}"}
    if not args.json:
        print(" ".join(f"{k}={v}" for k, v in header.items()), flush=True)
    results: dict = {**header}
    if not args.skip_model:
        results["model"] = model_figures(device=device, batch=batch, frames=args.frames, size=args.size, iters=args.iters)
        if not args.json:
            for f in results["model"]:
                print(f"model {f['mode']:8s} {f['variant']:5s} {f['clips_per_second']:9.3f} clips/s  x{f['ratio_to_fp32']} vs fp32",
                      flush=True)
    with tempfile.TemporaryDirectory(prefix="kinetics-train-throughput-") as scratch:
        root = Path(scratch) / "corpus"
        started = time.perf_counter()
        build_corpus(root, clips_per_class=max(2, batch * (args.steps + 1) // len(CLASSES) + 1))
        results["corpus_seconds"] = round(time.perf_counter() - started, 1)
        results["train"] = train_figures(root, Path(scratch) / "runs", workers=args.workers, device=args.device,
                                         batch=batch, frames=args.frames, size=args.size, steps=args.steps)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for f in results["train"]:
            print(f"kinetics train workers={f['workers']}: data wait {100 * f['data_wait_fraction']:.1f}% of step time, "
                  f"{f['clips_per_second']:.3f} clips/s (x{f['clips_per_second_ratio']} vs workers={args.workers[0]})",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
