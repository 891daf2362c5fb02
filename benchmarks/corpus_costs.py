"""Per-clip costs for planning a whole-Kinetics run (docs/scaling.md): trim CPU, bytes, flow CPU, index size.

* trim: ``kinetics.download.normalise`` on a 10 s window of a local 640x360 source (what a worker
  does after the section download), CPU seconds of ffmpeg per clip and bytes per clip; the
  bytes also for real footage (DeepMind's cricket clip, 224x224 upscaled like YouTube's 360p);
  and the CPU of a deep audit's full decode of each clip;
* flow: OpenCV TV-L1 (the paper's flow) and DIS on consecutive frames of the cricket clip at
  340x256 (4:3 after a 256 px short side) and 455x256 (16:9): CPU seconds per pair and per
  10 s clip at 25 fps (249 pairs), against DIS in the same run;
* index: 100,000 clip records (real Kinetics-700 ids and labels, 90 % ok) and 100,000 flow
  records written in driver-sized batches, bytes on disk before and after ``compact()``, and
  the time to read the latest state of every clip.

CPU seconds count every thread and child process (``getrusage``). The machine is shared: the
absolute numbers are noisy, the ratios steadier. Run::

    python benchmarks/corpus_costs.py [--pairs 3] [--records 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import cpu_seconds

from kinetics.ffmpeg import run_ffmpeg

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CRICKET = SHARED / "samples" / "v_CricketShot_g04_c01_rgb.gif"
K700 = [SHARED / "kinetics700" / "kinetics-700_test.csv", SHARED / "kinetics700" / "kinetics-700_val.csv"]
PAIRS_PER_CLIP = 249  # 10 s at 25 fps


def trim_costs(work: Path, windows: int) -> dict[str, float]:
    from kinetics.download.normalise import NormaliseOptions, normalise, probe_header

    source = work / "source.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=40", "-f", "lavfi", "-i",
                "sine=frequency=440:duration=40", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
                "-shortest", str(source)])
    cut = work / "cut.mp4"
    sizes, cpu = [], 0.0
    for n in range(windows):
        run_ffmpeg(["-y", "-ss", str(5 + 10 * n), "-t", "10", "-i", str(source), "-c", "copy", str(cut)])  # the section download
        probe = probe_header(cut)
        out = work / f"clip{n}.mp4"
        before = cpu_seconds()
        normalise(cut, out, duration_seconds=10.0, source_probe=probe, options=NormaliseOptions())
        cpu += cpu_seconds() - before
        sizes.append(out.stat().st_size)
    from kinetics.corpus.clipcheck import ClipCheckTask, check_clip

    before = cpu_seconds()
    for n in range(windows):  # what `kinetics audit --deep` does per clip
        assert check_clip(ClipCheckTask(f"clip{n}", str(work / f"clip{n}.mp4"), window_seconds=10.0)).ok
    decode = (cpu_seconds() - before) / windows
    real = work / "cricket.mp4"  # real footage: bytes per second at the corpus format, scaled to 10 s
    run_ffmpeg(["-y", "-i", str(CRICKET), "-vf", "scale=-2:360,fps=25", "-pix_fmt", "yuv420p", "-c:v", "libx264",
                "-preset", "veryfast", str(work / "cricket360.mp4")])
    probe = probe_header(work / "cricket360.mp4")
    normalise(work / "cricket360.mp4", real, duration_seconds=probe.duration_seconds, source_probe=probe,
              options=NormaliseOptions(audio=False))
    real_seconds = probe_header(real).duration_seconds
    return {"cpu_s_per_clip": cpu / windows, "deep_audit_cpu_s": decode, "bytes_synthetic": float(np.mean(sizes)),
            "bytes_real_10s": real.stat().st_size / real_seconds * 10}


def flow_costs(pairs: int) -> dict[str, dict[str, float]]:
    from flow_methods import cricket_frames

    from kinetics.flow.methods import compute_flow, default_params

    costs = {}
    for width in (340, 455):
        frames = cricket_frames(pairs, width=width, height=256)
        for method in ("tvl1", "dis"):
            count = pairs if method == "tvl1" else 10 * pairs
            stack = frames if method == "tvl1" else np.concatenate([frames] * 10)[: count + 1]
            before, began = cpu_seconds(), time.perf_counter()
            list(compute_flow(stack, method=method, params=default_params(method)))
            costs[f"{method} {width}x256"] = {"cpu_s_per_pair": (cpu_seconds() - before) / count,
                                               "wall_s_per_pair": (time.perf_counter() - began) / count}
    return costs


def index_costs(work: Path, records: int, batch: int) -> dict[str, float]:
    from kinetics.corpus.index import ClipRecord, CorpusIndex, FlowRecord
    from kinetics.corpus.layout import CorpusLayout
    from kinetics.manifests.readers import Manifest

    rows = []
    for path in K700:
        rows += Manifest.from_file(path).table.to_pylist()
    while len(rows) < records:  # more rows than the shared files hold: same ids, other windows
        rows += [{**r, "clip_id": f"{r['youtube_id']}_{len(rows) % 999999:06d}_000010"} for r in rows[: records - len(rows)]]
    rows = rows[:records]
    root = work / "corpus"
    index, layout = CorpusIndex(root), CorpusLayout(root)
    clips, flows = [], []
    for n, r in enumerate(rows):
        common = dict(clip_id=r["clip_id"], youtube_id=r["youtube_id"], time_start=r["time_start"], time_end=r["time_end"],
                      split="train", label=r["label"] or "x", label_index=max(r["label_index"], 0), version="700")
        if n % 10:
            rel = layout.clip_relpath("train", common["label"], r["clip_id"])
            clips.append(ClipRecord(status="ok", path=rel, bytes=1_000_000 + n, duration=10.0, fps=29.97, width=455,
                                    height=256, frames=300, codec="h264", has_audio=True, **common))
            flows.append(FlowRecord(clip_id=r["clip_id"], split="train", method="tvl1", status="ok", path=rel[:-4] + ".kflow",
                                    frames=249, width=455, height=256, fps=25.0, bound=20.0,
                                    params='{"tau": 0.25, "lambda_": 0.15, "warps": 5}', compute_seconds=500.0))
        else:
            clips.append(ClipRecord(status="missing", reason="unavailable", message="Video unavailable", **common))
    for start in range(0, records, batch):
        index.record_clips(clips[start : start + batch])
        index.record_flow(flows[start : start + batch])

    def size(name: str) -> int:
        return sum(p.stat().st_size for p in (layout.index_dir / name).rglob("*") if p.is_file())

    before = {"clips": size("clips"), "flow": size("flow")}
    began = time.perf_counter()
    index.compact()
    compact_s = time.perf_counter() - began
    began = time.perf_counter()
    state = index.clip_state(columns=["clip_id", "status", "path"])
    read_s = time.perf_counter() - began
    assert state.num_rows == len({r["clip_id"] for r in rows})
    return {"clips_bytes_parts": before["clips"], "flow_bytes_parts": before["flow"], "clips_bytes_compact": size("clips"),
            "flow_bytes_compact": size("flow"), "compact_s": compact_s, "read_state_s": read_s, "parts": -(-records // batch)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="TV-L1 pairs per size (each is seconds)")
    parser.add_argument("--windows", type=int, default=3, help="10 s windows to trim")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="records per index part (the driver's flushes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        trim = trim_costs(work, args.windows)
        print(f"trim + encode, 10 s window 640x360 -> 256 px, veryfast: {trim['cpu_s_per_clip']:.2f} CPU s/clip; "
              f"{trim['bytes_synthetic'] / 1e6:.2f} MB/clip (synthetic), {trim['bytes_real_10s'] / 1e6:.2f} MB per 10 s (real footage); "
              f"deep audit (full decode) {trim['deep_audit_cpu_s']:.2f} CPU s/clip")
        flow = flow_costs(args.pairs)
        for name, cost in flow.items():
            per_clip = cost["cpu_s_per_pair"] * PAIRS_PER_CLIP
            print(f"flow {name}: {cost['cpu_s_per_pair']:.3f} CPU s/pair ({cost['wall_s_per_pair']:.3f} s wall), "
                  f"{per_clip:.0f} CPU s per 10 s clip")
        for width in (340, 455):
            ratio = flow[f"tvl1 {width}x256"]["cpu_s_per_pair"] / flow[f"dis {width}x256"]["cpu_s_per_pair"]
            print(f"  tvl1 / dis CPU at {width}x256: {ratio:.0f}x")
        idx = index_costs(work, args.records, args.batch)
        scale = 100_000 / args.records
        print(f"index per 100k clips: clips {idx['clips_bytes_parts'] * scale / 1e6:.1f} MB in {idx['parts']} parts, "
              f"{idx['clips_bytes_compact'] * scale / 1e6:.1f} MB compacted; flow {idx['flow_bytes_parts'] * scale / 1e6:.1f} MB, "
              f"{idx['flow_bytes_compact'] * scale / 1e6:.1f} MB compacted; compact {idx['compact_s']:.1f} s, "
              f"latest state of every clip {idx['read_state_s']:.2f} s")


if __name__ == "__main__":
    main()
