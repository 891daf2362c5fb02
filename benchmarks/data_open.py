"""How long KineticsDataset takes to open a 650,000-clip corpus, from its Parquet index alone.

Writes a synthetic index with CorpusIndex (650,000 train/val/test clips in 8 part files, ~4 %
missing or failed, ~2 % retried: the retries' rows make ``latest()`` do real work), then times

* baseline: reading the same columns of the same part files with pyarrow, nothing else;
* KineticsDataset(root, "train") and (root, "val"): current state, filtering, counts, ordering;
* KineticsDataset(root, "train", modalities=("rgb", "flow")): plus the flow index join.

No video file exists: opening must not need one. These in-process figures are warm (imports done,
page cache and pyarrow's pools primed, best of ``--repeat``). What a user meets first is a fresh
process, so each case is also run once in a new interpreter: the import, the first open (wall and
CPU) and the peak resident memory (``VmHWM``, Linux) before and after opening, with the pyarrow read
of the same columns in a fresh process as its baseline. Run::

    python benchmarks/data_open.py [--rows 650000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
from timing import best_of

from kinetics.corpus.index import CLIP_SCHEMA, FLOW_SCHEMA, CorpusIndex
from kinetics.data.dataset import KineticsDataset

PARTS = 8


def synthetic_clips(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.array([f"{i:011d}_{i % 300:06d}_{i % 300 + 10:06d}" for i in range(rows)], dtype=object)
    split = rng.choice(np.array(["train", "val", "test"], dtype=object), rows, p=[0.85, 0.05, 0.10])
    label_index = rng.integers(0, 700, rows).astype(np.int32)
    label = np.array([f"class {i}" for i in range(700)], dtype=object)[label_index]
    status = rng.choice(np.array(["ok", "missing", "failed"], dtype=object), rows, p=[0.96, 0.03, 0.01])
    ok = status == "ok"
    path = np.where(ok, [f"{s}/{lab.replace(' ', '_')}/{c}.mp4" for s, lab, c in zip(split, label, ids)], None)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    finished = [start + timedelta(seconds=int(s)) for s in rng.integers(0, 10**6, rows)]
    columns = {
        "attempt_id": [f"{i:032x}" for i in range(rows)],
        "clip_id": ids, "youtube_id": [c[:11] for c in ids], "time_start": np.zeros(rows), "time_end": np.full(rows, 10.0),
        "split": split, "label": label, "label_index": label_index, "status": status,
        "reason": np.where(ok, None, "unavailable"), "message": np.where(ok, None, "Video unavailable"),
        "path": path, "bytes": np.full(rows, 700_000), "duration": np.full(rows, 10.0), "fps": np.where(ok, 30.0, np.nan),
        "width": np.full(rows, 456, np.int32), "height": np.full(rows, 256, np.int32), "frames": np.full(rows, 300, np.int32),
        "codec": np.full(rows, "h264", dtype=object), "has_audio": np.ones(rows, bool), "attempts": np.ones(rows, np.int32),
        "source": np.full(rows, "youtube", dtype=object), "version": [None] * rows, "host": ["bench"] * rows,
        "started_at": finished, "finished_at": finished,
    }
    return pa.Table.from_pydict(columns, schema=CLIP_SCHEMA)


def write_corpus(root: Path, rows: int) -> None:
    index = CorpusIndex(root)
    table = synthetic_clips(rows)
    for part in np.array_split(np.arange(rows), PARTS):
        index.clips.append(table.take(part))
    retried = table.take(np.arange(0, rows, 50))  # an earlier failed attempt for 2 % of the clips
    earlier = pa.array([t - timedelta(days=1) for t in retried.column("finished_at").to_pylist()], type=CLIP_SCHEMA.field("finished_at").type)
    retried = retried.set_column(CLIP_SCHEMA.get_field_index("finished_at"), "finished_at", earlier)
    retried = retried.set_column(CLIP_SCHEMA.get_field_index("status"), "status", pa.array(["failed"] * retried.num_rows))
    index.clips.append(retried)
    ok_train = table.filter(pa.compute.equal(table.column("split"), "train"))
    flow = pa.Table.from_pydict({
        "attempt_id": ok_train.column("attempt_id"), "clip_id": ok_train.column("clip_id"), "split": ok_train.column("split"),
        "method": ["tvl1"] * ok_train.num_rows, "status": ["ok"] * ok_train.num_rows,
        "path": [f"flow/tvl1/{c}.kflow" for c in ok_train.column("clip_id").to_pylist()],
        "finished_at": ok_train.column("finished_at"),
    }).cast(pa.schema([FLOW_SCHEMA.field(n) for n in ["attempt_id", "clip_id", "split", "method", "status", "path", "finished_at"]]))
    for name in FLOW_SCHEMA.names:
        if name not in flow.column_names:
            flow = flow.append_column(FLOW_SCHEMA.field(name), pa.nulls(flow.num_rows, FLOW_SCHEMA.field(name).type))
    index.flow.append(flow)


FRESH = """
import json, sys, time
root, split, modalities, columns = sys.argv[1], sys.argv[2], tuple(sys.argv[3].split(",")), sys.argv[4].split(",")
def rss_mb():  # peak resident memory of this process: VmHWM (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
began = time.perf_counter()
if split == "-":  # the baseline: pyarrow reads the same columns of the same parts
    import pyarrow.dataset as ds
    from kinetics.corpus.index import CLIP_SCHEMA, CorpusIndex
    parts = [str(p) for p in CorpusIndex(root).clips.parts()]
else:
    from kinetics.data.dataset import KineticsDataset
imported, rss_before, cpu = time.perf_counter(), rss_mb(), time.process_time()
if split == "-":
    rows = ds.dataset(parts, schema=CLIP_SCHEMA).to_table(columns=columns).num_rows
else:
    rows = len(KineticsDataset(root, split, modalities=modalities))
print(json.dumps({"import_s": imported - began, "open_s": time.perf_counter() - imported,
                  "open_cpu_s": time.process_time() - cpu, "rss_before_mb": rss_before, "peak_rss_mb": rss_mb(), "rows": rows}))
"""


def fresh_process(root: Path, split: str, modalities: tuple[str, ...], columns: list[str]) -> dict:
    """One open in a new interpreter: import time, first-open wall and CPU, peak RSS before and after."""
    out = subprocess.run([sys.executable, "-c", FRESH, str(root), split, ",".join(modalities), ",".join(columns)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=650_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="write the corpus here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch) / "corpus"
        if not CorpusIndex(root).exists():
            start = time.perf_counter()
            write_corpus(root, args.rows)
            print(f"wrote a {args.rows:,}-clip index in {time.perf_counter() - start:.1f} s ({root / 'index'})")
        parts = [str(p) for p in CorpusIndex(root).clips.parts()]
        columns = ["clip_id", "status", "path", "label", "label_index", "duration", "fps", "frames", "width", "height", "split", "finished_at"]
        baseline, _ = best_of(args.repeat, lambda: ds.dataset(parts, schema=CLIP_SCHEMA).to_table(columns=columns))
        print(f"baseline: pyarrow reads the {len(columns)} columns: {baseline * 1000:.0f} ms")
        for split, modalities in (("train", ("rgb",)), ("val", ("rgb",)), ("train", ("rgb", "flow"))):
            seconds, dataset = best_of(args.repeat, lambda: KineticsDataset(root, split, modalities=modalities))
            c = dataset.counts
            print(f"KineticsDataset({split!r}, modalities={modalities}): {seconds * 1000:.0f} ms "
                  f"({seconds / baseline:.2f}x the baseline); {len(dataset):,} clips, "
                  f"excluded missing={c.missing:,} failed={c.failed:,} no_flow={c.no_flow:,}")
        print("fresh process, one open each (what a new script meets):")
        base = fresh_process(root, "-", ("rgb",), columns)
        print(f"  baseline pyarrow read: import {base['import_s'] * 1000:.0f} ms, read {base['open_s'] * 1000:.0f} ms "
              f"(CPU {base['open_cpu_s'] * 1000:.0f} ms), peak RSS {base['rss_before_mb']:.0f} -> {base['peak_rss_mb']:.0f} MB")
        for split, modalities in (("train", ("rgb",)), ("val", ("rgb",)), ("train", ("rgb", "flow"))):
            run = fresh_process(root, split, modalities, columns)
            print(f"  KineticsDataset({split!r}, modalities={modalities}): import {run['import_s'] * 1000:.0f} ms, "
                  f"first open {run['open_s'] * 1000:.0f} ms (CPU {run['open_cpu_s'] * 1000:.0f} ms; "
                  f"{run['open_s'] / base['open_s']:.2f}x the fresh baseline), peak RSS {run['rss_before_mb']:.0f} -> "
                  f"{run['peak_rss_mb']:.0f} MB ({run['peak_rss_mb'] - base['peak_rss_mb']:+.0f} MB vs the baseline's)")


if __name__ == "__main__":
    main()
