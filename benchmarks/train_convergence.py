"""Convergence check: I3D learns a synthetic motion task that only temporal information can solve.

    python benchmarks/train_convergence.py                        # flow, RGB, and the 1-frame RGB baseline
    python benchmarks/train_convergence.py --streams flow --flow-epochs 10 --no-baseline
    python benchmarks/train_convergence.py --json

Five classes: a smooth random texture (a new one per clip) sliding left, right, up, down, or standing
still. Any single frame is a random texture, so a frame-level baseline is at chance (20%, printed as
the baseline). Training runs without the random horizontal flip: a mirrored clip moving left moves
right, so on this task the flip would swap two labels (on Kinetics it preserves them). The corpus is built with ffmpeg in the Kinetics layout and index, flow is computed by
``kinetics.flow`` (DIS by default: TV-L1 is slower and the motion is simple), and each stream is
trained with ``kinetics.training.train`` and scored with ``kinetics.training.evaluate`` on held-out
clips: the real pipeline end to end, at a small input size (32x32; flow on 16-frame windows, RGB on
32: RGB must find the motion in the pixels itself and needs more frames) so that it runs in minutes
on a CPU. The measured baseline is the same RGB training on single frames, which has no temporal
information to learn from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))

from motion_corpus import MOTIONS, build_motion_corpus  # noqa: E402

from kinetics.flow.run import FlowOptions, extract_flow  # noqa: E402
from kinetics.training.config import TrainConfig  # noqa: E402
from kinetics.training.evaluate import EvalOptions, evaluate  # noqa: E402
from kinetics.training.train import train  # noqa: E402


def run_stream(root: Path, out: Path, *, name: str, stream: str, frames: int, epochs: int, args) -> dict:
    """Train one stream on ``frames``-frame windows with ``train()``, then score the whole val clips with ``evaluate()``."""
    steps = epochs * (args.train_per_class * len(MOTIONS) // args.batch_size)
    config = TrainConfig(
        root=root, out=out / name, stream=stream, flow_method=args.flow_method, frames=frames,
        short_side_pixels=None, crop_pixels=args.size, flip=False, batch_size=args.batch_size, epochs=epochs, lr=args.lr,
        lr_schedule="steps", lr_milestones=(max(1, round(0.7 * steps)),), bn_momentum=0.1, workers=args.workers,
        log_every_steps=10, tensorboard=False, seed=args.seed,
    )
    started = time.perf_counter()
    summary = train(config, progress=args.progress)
    train_seconds = time.perf_counter() - started
    report = evaluate(EvalOptions(root=root, checkpoint=str(summary.model), split="val", frames=args.clip_frames,
                                  short_side_pixels=None, crop_pixels=args.size, flow_method=args.flow_method,
                                  batch_size=4, workers=args.workers, device="cpu"))
    metrics = report.metrics[stream]
    return {"run": name, "stream": stream, "frames": frames, "val_top1": metrics.top1, "val_clips": metrics.clips,
            "steps": summary.steps, "train_seconds": round(train_seconds, 1),
            "clips_per_second": round(summary.clips_per_second, 2),
            "data_wait_fraction": round(summary.data_wait_fraction, 3), "final_train_loss": summary.final_loss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", nargs="+", choices=["flow", "rgb"], default=["flow", "rgb"])
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also train RGB on single frames (no temporal information: should stay near chance)")
    parser.add_argument("--train-per-class", type=int, default=12)
    parser.add_argument("--val-per-class", type=int, default=4)
    parser.add_argument("--clip-frames", type=int, default=48, help="frames per clip (at 25 fps); val clips are scored whole")
    parser.add_argument("--flow-frames", type=int, default=16, help="frames per flow training window")
    parser.add_argument("--rgb-frames", type=int, default=32, help="frames per RGB training window")
    parser.add_argument("--size", type=int, default=32, help="frame height and width")
    parser.add_argument("--flow-epochs", type=int, default=12)
    parser.add_argument("--rgb-epochs", type=int, default=20, help="also the single-frame baseline's")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.003, help="divided by 10 after 70%% of the steps")
    parser.add_argument("--flow-method", default="dis", choices=["dis", "tvl1", "farneback"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="build the corpus and runs here and keep them")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="kinetics-convergence-") as scratch:
        base = args.keep or Path(scratch)
        root = base / "corpus"
        started = time.perf_counter()
        build_motion_corpus(root, clips_per_class={"train": args.train_per_class, "val": args.val_per_class},
                            frames=args.clip_frames, width=args.size, height=args.size, seed=args.seed)
        flow = extract_flow(FlowOptions(root, method=args.flow_method))
        setup_seconds = time.perf_counter() - started
        header = {"classes": len(MOTIONS), "chance_top1": 1 / len(MOTIONS), "train_clips": args.train_per_class * len(MOTIONS),
                  "val_clips": args.val_per_class * len(MOTIONS), "clip": f"{args.clip_frames}x{args.size}x{args.size}",
                  "threads": args.threads, "corpus_and_flow_seconds": round(setup_seconds, 1), "flow_failed": flow.failed}
        if not args.json:
            print(" ".join(f"{k}={v}" for k, v in header.items()), flush=True)
        runs = [(s, s, args.flow_frames if s == "flow" else args.rgb_frames,
                 args.flow_epochs if s == "flow" else args.rgb_epochs) for s in args.streams]
        if args.baseline:
            runs.append(("rgb-1-frame", "rgb", 1, args.rgb_epochs))
        results = []
        for name, stream, frames, epochs in runs:
            result = run_stream(root, base / "runs", name=name, stream=stream, frames=frames, epochs=epochs, args=args)
            results.append(result)
        baseline = next((r["val_top1"] for r in results if r["run"] == "rgb-1-frame"), None)
        for result in results:
            result["ratio_to_chance"] = round(result["val_top1"] / header["chance_top1"], 2)
            result["ratio_to_1_frame"] = round(result["val_top1"] / baseline, 2) if baseline else None
            if not args.json:
                print(f"{result['run']:12s} {result['frames']:3d}-frame windows: val top-1 {100 * result['val_top1']:5.1f}% "
                      f"(x{result['ratio_to_chance']} chance, x{result['ratio_to_1_frame']} the 1-frame RGB baseline) "
                      f"after {result['steps']} steps in {result['train_seconds']} s, {result['clips_per_second']} clips/s, "
                      f"data wait {100 * result['data_wait_fraction']:.1f}%", flush=True)
        if args.json:
            json.dump({**header, "results": results}, sys.stdout, indent=2)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
