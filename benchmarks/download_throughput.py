"""Download throughput against a loopback server: clips/min, CPU per clip, bytes, overhead, GOP cost.

Prints, for one manifest of windows inside longer source videos (640x360, like YouTube's 360p):

* clips per minute at --jobs 1, 2, 4 (a fresh corpus root each time);
* local CPU seconds per clip (this process and every child: workers, yt-dlp's ffmpeg, the encoder);
* bytes per clip sent by the server with section download, against the whole source file (ratio);
* our time per clip against a bare ``ffmpeg -ss S -t D -i URL`` trim + the same encode (ratio);
* file size and random-window seek cost of a 0.5 s GOP against a 1 s GOP (ratio).

The server runs in a child process so that its CPU is not counted. Timings are wall-clock on a
shared machine: run it twice and compare ratios rather than absolute numbers.

    python benchmarks/download_throughput.py [--clips 12] [--source-seconds 60] [--window 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def serve(directory: str) -> None:
    """Child mode: serve ``directory``, print the port, and on stdin EOF print the request log."""
    from loopback import LoopbackServer

    server = LoopbackServer(Path(directory), send_buffer_bytes=32 * 1024).start()
    for line in open(Path(directory) / "rewrites.json"):
        server.rewrites.update(json.loads(line))
    print(server.port, flush=True)
    sys.stdin.read()
    time.sleep(0.3)
    print(json.dumps([{"path": r.path, "bytes": r.bytes_sent} for r in server.requests]), flush=True)
    server.stop()


def make_sources(directory: Path, count: int, seconds: float) -> list[Path]:
    from media import make_clip

    return [make_clip(directory / f"S{n}.mp4", seconds=seconds, fps=25, width=640, height=360, audio=True, gop=50)
            for n in range(count)]


def write_manifest(path: Path, ids: list[str], windows: list[tuple[float, float]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for youtube_id, (start, end) in zip(ids, windows):
            writer.writerow(["bench", youtube_id, start, end, "train"])


def run_download(base: str, manifest: Path, root: Path, jobs: int) -> tuple[float, float]:
    from kinetics.cli.main import main

    shutil.rmtree(root, ignore_errors=True)
    cpu, began = cpu_seconds(), time.monotonic()
    args = ["download", "--root", str(root), "--manifest", str(manifest), "--url-template", base + "/v/{youtube_id}",
            "--jobs", str(jobs)]
    code = main(args)
    if code != 0:
        raise SystemExit(f"download failed with exit code {code}")
    return time.monotonic() - began, cpu_seconds() - cpu


def bare_trim(base: str, ids: list[str], windows, out: Path) -> tuple[float, float]:
    """The baseline: one ffmpeg per clip, reading the URL directly, same scale and encode settings."""
    from kinetics.ffmpeg import run_ffmpeg

    out.mkdir(parents=True, exist_ok=True)
    cpu, began = cpu_seconds(), time.monotonic()
    for youtube_id, (start, end) in zip(ids, windows):
        run_ffmpeg(["-y", "-ss", f"{start}", "-t", f"{end - start}", "-i", f"{base}/v/{youtube_id}",
                    "-vf", "scale=if(lt(iw\\,ih)\\,256\\,-2):if(lt(iw\\,ih)\\,-2\\,256)", "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(out / f"{youtube_id}.mp4")])
    return time.monotonic() - began, cpu_seconds() - cpu


def gop_cost(clips: list[Path], work: Path) -> dict[str, float]:
    """Size and random 16-frame window read time at 0.5 s and 1 s keyframe intervals."""
    import av

    from kinetics.download.normalise import NormaliseOptions, normalise, probe_header

    result = {}
    rng = random.Random(0)
    for interval in (0.5, 1.0):
        size = 0
        read = 0.0
        for n, clip in enumerate(clips):
            target = work / f"gop{interval}_{n}.mp4"
            probe = probe_header(clip)
            normalise(clip, target, duration_seconds=probe.duration_seconds, source_probe=probe,
                      options=NormaliseOptions(short_side_pixels=0, keyframe_interval_seconds=interval))
            size += target.stat().st_size
            with av.open(str(target)) as container:
                stream = container.streams.video[0]
                for _ in range(10):
                    moment = rng.uniform(0, probe.duration_seconds - 1.0)
                    began = time.perf_counter()
                    container.seek(int(moment / stream.time_base), stream=stream, backward=True)
                    got = 0
                    for frame in container.decode(stream):
                        if frame.time is not None and frame.time >= moment:
                            got += 1
                            if got == 16:
                                break
                    read += time.perf_counter() - began
        result[interval] = (size, read)
    return {"size_ratio": result[0.5][0] / result[1.0][0], "read_ratio": result[0.5][1] / result[1.0][1],
            "read_ms_0.5": 1000 * result[0.5][1] / (10 * len(clips)), "read_ms_1.0": 1000 * result[1.0][1] / (10 * len(clips))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--source-seconds", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--jobs", default="1,2,4")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    work = Path(tempfile.mkdtemp(prefix="kinetics-bench-"))
    try:
        www = work / "www"
        www.mkdir()
        sources = make_sources(www, 3, args.source_seconds)
        rng = random.Random(1)
        ids, windows, rewrites = [], [], {}
        jobs_list = [int(j) for j in args.jobs.split(",")]
        for run in range(len(jobs_list) + 1):  # distinct ids per run, so the byte log can be split by run
            for n in range(args.clips):
                youtube_id = f"b{run}{n:09d}"
                start = round(rng.uniform(0, args.source_seconds - args.window - 1), 1)
                ids.append(youtube_id)
                windows.append((start, start + args.window))
                rewrites[f"/v/{youtube_id}"] = f"/files/{sources[n % len(sources)].name}"
        (www / "rewrites.json").write_text(json.dumps(rewrites) + "\n")
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(www)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        print(f"{args.clips} clips of {args.window:g} s from {len(sources)} sources of {args.source_seconds:g} s at 640x360; "
              f"output 256 px short side, veryfast; machine shared, numbers are noisy")
        per_jobs = {}
        for run, jobs in enumerate(jobs_list):
            chunk = slice(run * args.clips, (run + 1) * args.clips)
            manifest = work / f"m{run}.csv"
            write_manifest(manifest, ids[chunk], windows[chunk])
            wall, cpu = run_download(base, manifest, work / f"root{run}", jobs)
            per_jobs[jobs] = (wall, cpu)
            print(f"--jobs {jobs}: {60 * args.clips / wall:6.1f} clips/min  ({wall / args.clips:.2f} s/clip wall, "
                  f"{cpu / args.clips:.2f} CPU s/clip)")
        chunk = slice(len(jobs_list) * args.clips, (len(jobs_list) + 1) * args.clips)
        bare_wall, bare_cpu = bare_trim(base, ids[chunk], windows[chunk], work / "bare")
        server.stdin.close()
        log = json.loads(server.stdout.readline())
        server.wait()
        first_ids = set(ids[: args.clips])
        section = sum(r["bytes"] for r in log if r["path"].rsplit("/", 1)[-1] in first_ids)
        whole = sum(sources[n % len(sources)].stat().st_size for n in range(args.clips))
        print(f"bytes per clip: section download {section / args.clips / 1e6:.2f} MB, whole source {whole / args.clips / 1e6:.2f} MB, "
              f"ratio {section / whole:.3f}")
        ours_wall, ours_cpu = per_jobs[jobs_list[0]]
        print(f"bare ffmpeg -ss/-t trim+encode: {bare_wall / args.clips:.2f} s/clip wall, {bare_cpu / args.clips:.2f} CPU s/clip; "
              f"ours at --jobs {jobs_list[0]} / bare: wall x{ours_wall / bare_wall:.2f}, CPU x{ours_cpu / bare_cpu:.2f}")
        gop = gop_cost(sorted((work / "root0").rglob("*.mp4"))[:4], work)
        print(f"GOP 0.5 s vs 1 s: size x{gop['size_ratio']:.3f}, random 16-frame read x{gop['read_ratio']:.3f} "
              f"({gop['read_ms_0.5']:.1f} ms vs {gop['read_ms_1.0']:.1f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
