"""Flow storage: size, write and read speed, fidelity of the .kflow codecs, against raw uint8 in the same run.

Flow: OpenCV TV-L1 (the paper's method) on DeepMind's cricket clip upscaled to 340x256, quantised
with bound 20 as stored. For each codec: KB per field, the Kinetics-scale projection (650,000
clips x 250 fields), ms to encode a field, ms to read a 64-field window from a file (what a
loader does per sample), and the error against the exact uint8 values. The baselines are the raw
uint8 bytes (size) and a NumPy ``.npy`` of the whole clip (read speed: one read, no decode).
Flow of a mostly still camera compresses better than busy footage: treat the sizes as a lower
bound for Kinetics. Run::

    python benchmarks/flow_store.py [--pairs 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from kinetics.flow.methods import compute_flow
from kinetics.corpus.flowfile import FlowFile, quantise, write_flow_file

CLIPS, FIELDS_PER_CLIP, WINDOW = 650_000, 250, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=24, help="flow fields to compute (default 24)")
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from flow_methods import cricket_frames

    flow = compute_flow(cricket_frames(args.pairs), method="tvl1")
    exact = quantise(flow, 20.0)
    raw_kb = exact[0].nbytes / 1024
    reps = max(1, -(-WINDOW // len(exact)))
    fields = np.concatenate([exact] * reps)[:WINDOW] if len(exact) < WINDOW else exact  # a full window to read
    print(f"{len(exact)} TV-L1 fields at 340x256 (mean |flow| {np.abs(flow).mean():.2f} px), window reads of {len(fields)} fields")
    print(f"{'codec':14s} {'KB/field':>9s} {'vs raw':>7s} {'TB @650k':>9s} {'enc ms':>7s} {'read ms':>8s} "
          f"{'mean |dq|':>9s} {'max |dq|':>8s} {'dq != 0':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "clip.npy"
        np.save(npy, fields)
        start = time.perf_counter()
        for _ in range(5):
            np.load(npy)
        npy_read = (time.perf_counter() - start) / 5 * 1000
        print(f"{'raw (.npy)':14s} {raw_kb:9.1f} {1:6.1f}x {raw_kb * 1024 * CLIPS * FIELDS_PER_CLIP / 1e12:9.1f} "
              f"{0:7.2f} {npy_read:8.2f} {0:9.3f} {0:8d} {0:8.1%}")
        for codec, quality in (("zstd", 95), ("jpeg", 95), ("jpeg", 90), ("jpeg", 75)):
            path = Path(tmp) / f"{codec}{quality}.kflow"
            start = time.perf_counter()
            write_flow_file(path, fields, fps=25.0, method="tvl1", params={}, codec=codec, quality=quality)
            encode = (time.perf_counter() - start) / len(fields) * 1000
            kb = path.stat().st_size / len(fields) / 1024
            start = time.perf_counter()
            for _ in range(5):
                with FlowFile.open(path) as f:
                    back = f.read(range(len(fields)))
            read = (time.perf_counter() - start) / 5 * 1000
            diff = np.abs(back.astype(np.int16) - fields.astype(np.int16))
            label = "zstd (lossless)" if codec == "zstd" else f"jpeg q{quality}"
            print(f"{label:14s} {kb:9.1f} {raw_kb / kb:6.1f}x {kb * 1024 * CLIPS * FIELDS_PER_CLIP / 1e12:9.2f} "
                  f"{encode:7.2f} {read:8.2f} {diff.mean():9.3f} {int(diff.max()):8d} {(diff > 0).mean():8.1%}")
    print("(|dq| in quantisation steps of 40/255 = 0.157 px; TB = 1e12 bytes)")


if __name__ == "__main__":
    main()
