"""Speed and agreement of the flow methods at 340x256, against OpenCV's TV-L1 measured in the same run.

Frames: DeepMind's cricket clip (shared/data/samples, 224x224 grey) upscaled to 340x256
(bilinear), consecutive pairs; and a synthetic translation (a smooth random texture moved by
(4, 2) px, so the true flow is known). For every method: frame pairs per second, the ratio to
OpenCV TV-L1 (the paper's flow, the baseline), mean end-point error against OpenCV TV-L1 on the
same pairs, the share of pixels within 0.1 px of it, and the error against the true translation.
``tvl1-torch`` runs on the CPU, and on the GPU too when there is one (``--batch-size`` pairs at once).

Other work on the machine slows everything; the ratios are the figures to compare. Run::

    python benchmarks/flow_methods.py [--pairs 6] [--device cuda] [--batch-size 64] [--compile]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from kinetics.flow.methods import compute_flow

REPO = Path(__file__).resolve().parents[1]
CRICKET = REPO.parent / "shared" / "data" / "samples" / "v_CricketShot_g04_c01_rgb.gif"
WIDTH, HEIGHT = 340, 256


def cricket_frames(pairs: int, *, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The first ``pairs + 1`` frames of the cricket clip, grey, resized (bilinear) to ``width x height``."""
    import av

    with av.open(str(CRICKET)) as container:
        grey = [f.to_ndarray(format="gray") for _, f in zip(range(pairs + 1), container.decode(video=0))]
    return np.stack([cv2.resize(g, (width, height), interpolation=cv2.INTER_LINEAR) for g in grey])


def translated_frames(count: int, dx: int = 4, dy: int = 2) -> np.ndarray:
    sys.path.insert(0, str(REPO / "tests" / "flow"))
    from moving_media import texture_frames

    return texture_frames(dx=dx, dy=dy, frames=count + 1, width=WIDTH, height=HEIGHT)


def timed(frames: np.ndarray, method: str, **kwargs) -> tuple[np.ndarray, float]:
    if kwargs.get("device", "cpu").startswith("cuda"):
        compute_flow(frames[:2], method=method, **kwargs)  # warm-up: CUDA context, kernels (and compilation)
        torch.cuda.synchronize()
    start = time.perf_counter()
    flow = compute_flow(frames, method=method, **kwargs)
    return flow, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6, help="frame pairs per clip (default 6)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else None, help="GPU for tvl1-torch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--compile", action="store_true", help="torch.compile the tvl1-torch step on the GPU")
    args = parser.parse_args()

    runs = [("tvl1", {}), ("dis", {}), ("farneback", {}), ("tvl1-torch", {"device": "cpu", "batch_size": args.batch_size})]
    if args.device and args.device != "cpu":
        runs.append(("tvl1-torch", {"device": args.device, "batch_size": args.batch_size, "compiled": args.compile}))
    print(f"{WIDTH}x{HEIGHT}, {args.pairs} pairs per clip, torch {torch.__version__}, OpenCV {cv2.__version__}, "
          f"{torch.get_num_threads()} CPU threads" + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    for name, frames, truth in (("cricket", cricket_frames(args.pairs), None), ("translation (4, 2)", translated_frames(args.pairs), (4, 2))):
        print(f"\n{name}")
        print(f"{'method':28s} {'pairs/s':>9s} {'vs tvl1':>8s} {'EPE vs tvl1':>12s} {'<0.1 px':>8s} {'EPE vs truth':>13s}")
        reference, baseline_seconds = None, None
        for method, kwargs in runs:
            flow, seconds = timed(frames, method, **kwargs)
            if reference is None:
                reference, baseline_seconds = flow, seconds
            epe = np.sqrt(((flow - reference) ** 2).sum(-1))
            truth_epe = np.sqrt(((flow - np.float32(truth)) ** 2).sum(-1))[:, 16:-16, 16:-16].mean() if truth else float("nan")
            label = method + (f" ({kwargs['device']}, batch {kwargs['batch_size']})" if "device" in kwargs else "")
            print(f"{label:28s} {args.pairs / seconds:9.2f} {baseline_seconds / seconds:7.2f}x {epe.mean():12.4f} "
                  f"{(epe < 0.1).mean():8.1%} {truth_epe:13.4f}")


if __name__ == "__main__":
    main()
