"""Loader throughput: clips per second of 64-frame, 224x224 training items, against same-run baselines.

A corpus of ``--clips`` copies of one 10 s 456x256 H.264 clip, encoded as the downloader does
(libx264 veryfast, CRF 23, a keyframe every 0.5 s; real footage: DeepMind's cricket sample, scaled
and looped; ``--clip`` to use your own). The Dataset's items are drawn first (train sampling,
random crop and flip, seed 0); every baseline then reads *the same windows*:

* decode-only: PyAV seeks to the keyframe before the window and decodes to its last frame, with
  no conversion at all: the physical limit of this machine for these frames;
* naive PyAV: the same decode plus ``to_ndarray(format="rgb24")`` per frame, crop, [-1, 1] floats;
* torchcodec in its best form: ``VideoDecoder(..., transforms=[CenterCrop((224, 224))])`` (the
  crop happens inside FFmpeg's filter graph, before the RGB conversion) and one ``get_frames_at``
  of the window's frame indices, when torchcodec loads (it needs FFmpeg's shared libraries from
  the system and a wheel built for this torch, CPU or CUDA);
* decord2: ``VideoReader.get_batch`` of the window's frame indices through decord's torch bridge
  (no copy), then the same crop and scaling;
* the Dataset: ``dataset[i]`` in this process (also with ``decoder="torchcodec"`` where it loads),
  and once more with its output-buffer reuse turned off.

Every row gets the same treatment: torch runs on one thread for all of them (``--torch-threads``),
decoders get ``--threads`` threads, and every baseline writes its float output into a buffer from
the Dataset's own pool (``kinetics.data.buffers.OUTPUT_BUFFERS``), so no row pays page faults that
another one is spared. These rows are timed window by window (each window through every row in
turn), each call's best of ``--rounds``, so a busy moment on a shared machine slows all rows alike.
Then a DataLoader with 0, 1 and 2 workers
(batch 4; ``default_collate`` and ``kinetics.data.collate``), steady state over
``--loader-items`` items (the first batch, i.e. worker start-up, is not timed).

Run::

    python benchmarks/data_throughput.py [--clips 8] [--items 24] [--rounds 3] [--loader-items 64] [--threads 1] [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from kinetics.data.batching import collate
from kinetics.data.buffers import OUTPUT_BUFFERS
from kinetics.data.dataset import KineticsDataset
from kinetics.data.decoding import torchcodec_decoder
from kinetics.data.timebase import stored_indices
from kinetics.data.transforms import crop
from kinetics.errors import MissingDependencyError
from kinetics.ffmpeg import run_ffmpeg

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "v_CricketShot_g04_c01_rgb.gif"
FPS, SECONDS, WIDTH, HEIGHT = 25, 10, 456, 256


def make_clip(path: Path) -> Path:
    if SAMPLE.is_file():
        source = ["-stream_loop", "-1", "-i", str(SAMPLE)]
    else:  # no shared data: a synthetic pattern (decodes faster than real footage)
        source = ["-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}"]
    run_ffmpeg(["-y", *source, "-t", str(SECONDS), "-vf", f"scale={WIDTH}:{HEIGHT},fps={FPS}", "-c:v", "libx264",
                "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-force_key_frames", "expr:gte(t,n_forced*0.5)",
                "-movflags", "+faststart", "-an", str(path)])
    return path


def make_corpus(root: Path, clip: Path, count: int) -> None:
    import av

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))
    from numbered_media import add_clip, write_index

    with av.open(str(clip)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    write_index(root, [add_clip(root, clip, clip_id=f"bench{i:06d}_000000_000010", split="train", label="cricket shot",
                                label_index=0, fps=float(FPS), frames=frames, width=WIDTH, height=HEIGHT)
                       for i in range(count)])


def timed_calls(rows: dict, count: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Per row, (wall, CPU) seconds per call: for each input, the best of ``rounds`` calls, averaged.

    The rows take their ``j``-th inputs one after another (the same window for every row), so a
    busy moment on a shared machine slows all rows alike instead of favouring one.
    """
    wall = {name: [float("inf")] * count for name in rows}
    cpu = {name: [0.0] * count for name in rows}
    for _ in range(max(1, rounds)):
        for j in range(count):
            for name, (fn, inputs) in rows.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                fn(inputs[j])
                elapsed = time.perf_counter() - started
                if elapsed < wall[name][j]:
                    wall[name][j], cpu[name][j] = elapsed, time.process_time() - cpu_started
    return {name: (sum(wall[name]) / count, sum(cpu[name]) / count) for name in rows}


def decode_only(path: Path, stored: np.ndarray, threads: int) -> int:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO" if threads != 1 else "SLICE"
        stream.codec_context.thread_count = threads
        ticks = float(stream.average_rate * stream.time_base)
        container.seek(int(stored[0] / ticks), stream=stream, backward=True)
        decoded = 0
        for frame in container.decode(stream):
            decoded += 1
            if round(frame.pts * ticks) >= stored[-1]:
                break
    return decoded


def naive_pyav(path: Path, stored: np.ndarray, box, threads: int) -> torch.Tensor:
    import av

    wanted, frames = set(stored.tolist()), {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = threads
        ticks = float(stream.average_rate * stream.time_base)
        container.seek(int(stored[0] / ticks), stream=stream, backward=True)
        for frame in container.decode(stream):
            index = round(frame.pts * ticks)
            if index in wanted:
                frames[index] = torch.from_numpy(frame.to_ndarray(format="rgb24"))
            if index >= stored[-1]:
                break
    video = torch.stack([frames[i] for i in stored.tolist()]).permute(3, 0, 1, 2)
    return pooled_unit_range(crop(video, box))


def pooled_unit_range(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 [C, T, H, W] -> float32 in [-1, 1], written into a pooled buffer as the Dataset's items are."""
    out = OUTPUT_BUFFERS.empty(tuple(rgb.shape))
    out.copy_(rgb)
    return out.mul_(1 / 127.5).sub_(1)


def torchcodec_window(path: Path, stored: np.ndarray, box, threads: int) -> torch.Tensor:
    """torchcodec's best form: the crop inside the decoder (``transforms=``), one ``get_frames_at`` call."""
    video_decoder = torchcodec_decoder()  # MissingDependencyError, saying why, when it cannot load
    from torchcodec.transforms import CenterCrop

    decoder = video_decoder(str(path), seek_mode="approximate", num_ffmpeg_threads=threads,
                            transforms=[CenterCrop((box.height, box.width))])
    batch = decoder.get_frames_at(stored.tolist()).data  # [T, 3, 224, 224] uint8, cropped before conversion
    return pooled_unit_range(batch.permute(1, 0, 2, 3))


def torchcodec_range_window(path: Path, stored: np.ndarray, box, threads: int) -> torch.Tensor:
    """The form this benchmark used before: every frame of the range at full size, cropped afterwards."""
    decoder = torchcodec_decoder()(str(path), seek_mode="approximate", num_ffmpeg_threads=threads)
    batch = decoder.get_frames_in_range(int(stored[0]), int(stored[-1]) + 1).data
    return pooled_unit_range(crop(batch.permute(1, 0, 2, 3)[:, stored - stored[0]], box))


def decord_reader():
    """decord2's VideoReader with its torch bridge on, or MissingDependencyError."""
    try:
        import decord
    except (ImportError, OSError) as err:
        raise MissingDependencyError(f"decord2 is not installed (pip install decord2): {err}") from err
    decord.bridge.set_bridge("torch")
    return decord


def decord_window(path: Path, stored: np.ndarray, box, threads: int) -> torch.Tensor:
    decord = decord_reader()
    reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=threads)
    batch = reader.get_batch(stored.tolist())  # [T, H, W, 3] uint8 torch tensor (DLPack, no copy)
    return pooled_unit_range(crop(batch.permute(3, 0, 1, 2), box))


TORCHCODEC = "torchcodec get_frames_at + CenterCrop"
DECORD = "decord2 get_batch (torch bridge)"


def _without_reuse(dataset, index: int) -> torch.Tensor:
    """An item with the output-buffer pool off: it faults in fresh memory. The pool's free buffers
    are set aside, not dropped, so the other rows keep theirs (benchmark-only use of its internals)."""
    pool = OUTPUT_BUFFERS
    saved = pool.limit_bytes, pool._free, pool._held_bytes
    pool.limit_bytes, pool._free, pool._held_bytes = 0, {}, 0
    try:
        return dataset[index]
    finally:
        pool.limit_bytes, pool._free, pool._held_bytes = saved


def loader_rate(dataset, workers: int, items: int, batch_size: int = 4, collate_fn=None) -> float:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_fn,
                                         sampler=[i % len(dataset) for i in range(items + batch_size)])
    iterator = iter(loader)
    next(iterator)  # start-up and the first batch are not timed
    start = time.perf_counter()
    count = sum(batch["rgb"].shape[0] for batch in iterator)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3, help="calls per window and row; the best counts")
    parser.add_argument("--loader-items", type=int, default=64, help="items per DataLoader measurement")
    parser.add_argument("--threads", type=int, default=1, help="decoder threads per item (0: FFmpeg decides)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads, the same for every row")
    parser.add_argument("--clip", type=Path, default=None, help="a video to use instead of the generated one")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.torch_threads)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "corpus"
        clip = args.clip or make_clip(Path(scratch) / "clip.mp4")
        make_corpus(root, clip, args.clips)
        dataset = KineticsDataset(root, "train", threads=args.threads)
        items = [i % len(dataset) for i in range(args.items)]
        dataset[0]  # warm the page cache and the libraries
        samples = []  # only what the baselines need: keeping 24 items alive would cost 900 MB
        for i in items:  # items are deterministic (seed, epoch, index): later rounds read the same windows
            sample = dataset[i]
            samples.append({"index": sample["index"], "start_seconds": sample["start_seconds"], "shape": tuple(sample["rgb"].shape)})
        windows = []
        for sample in samples:
            record = dataset.records[sample["index"]]
            start = round(sample["start_seconds"] * FPS)
            stored = stored_indices(np.arange(start, start + 64), record.fps, FPS, record.frames)
            windows.append((dataset.resolve(record.path), stored))
        decoded = [decode_only(path, stored, args.threads) for path, stored in windows[:2]]
        from kinetics.data.transforms import center_crop_box

        box = center_crop_box(HEIGHT, WIDTH, 224, align=2)
        rows = {
            "decode-only (PyAV, no conversion)": (lambda w: decode_only(w[0], w[1], args.threads), windows),
            "naive PyAV (rgb24 per frame)": (lambda w: naive_pyav(w[0], w[1], box, args.threads), windows),
        }
        try:
            torchcodec_window(*windows[0], box, args.threads)
            through_codec = KineticsDataset(root, "train", threads=args.threads, decoder="torchcodec")
            through_codec[0]
            rows[TORCHCODEC] = (lambda w: torchcodec_window(w[0], w[1], box, args.threads), windows)
            rows["torchcodec get_frames_in_range, crop after"] = (lambda w: torchcodec_range_window(w[0], w[1], box, args.threads), windows)
            rows["Dataset item, decoder='torchcodec'"] = (lambda i: through_codec[i], items)
        except MissingDependencyError as err:
            print(f"torchcodec: not measured ({str(err).split('(')[0].strip()})")
        try:
            decord_window(*windows[0], box, args.threads)
            rows[DECORD] = (lambda w: decord_window(w[0], w[1], box, args.threads), windows)
        except MissingDependencyError as err:
            print(f"decord2: not measured ({err})")
        rows["Dataset item (this process)"] = (lambda i: dataset[i], items)
        rows["Dataset item, no buffer reuse"] = (lambda i: _without_reuse(dataset, i), items)
        best = timed_calls(rows, len(items), args.rounds)

        print(f"{len(items)} items of {samples[0]['shape']} float32 from {WIDTH}x{HEIGHT} H.264, "
              f"decoder threads={args.threads}, torch threads={torch.get_num_threads()}; "
              f"decode-only reads ~{np.mean(decoded):.0f} frames/window; best of {args.rounds} calls per window")
        print("                                    wall ms   CPU ms   ratio to decode-only (wall, CPU)")
        floor, per_item = best["decode-only (PyAV, no conversion)"], best["Dataset item (this process)"]
        for name, (wall, cpu) in best.items():
            print(f"{name:34s} {wall * 1000:8.1f} {cpu * 1000:8.1f}   {wall / floor[0]:5.2f}x {cpu / floor[1]:5.2f}x")
        for name in (TORCHCODEC, DECORD):
            if name in best:
                other = best[name]
                print(f"Dataset vs {name.split(' ')[0]}: {other[0] / per_item[0]:.2f}x faster (wall), "
                      f"{other[1] / per_item[1]:.2f}x (CPU)")
        for workers in (0, 1, 2):
            for name, collate_fn in (("default_collate", None), ("kinetics.data.collate", collate)):
                rate = loader_rate(dataset, workers, args.loader_items, collate_fn=collate_fn)
                print(f"DataLoader num_workers={workers}, batch 4, {name:21s}: {rate:6.2f} clips/s = {1000 / rate:6.1f} ms/clip, "
                      f"{(1 / rate) / floor[0]:5.2f}x decode-only")


if __name__ == "__main__":
    main()
