"""How long status and a shallow audit take on a large corpus, against the bare cost in the same run.

Builds a synthetic corpus with CorpusIndex: N target clips over 400 classes, 90 % ok with a file
on disk (hard links to one tiny MP4 per class, so the disk holds little), 5 % missing, 5 %
pending, a few vanished and zero-byte files. Then times

* status vs baseline A: pandas reading the clips journal and keeping the latest row per clip
  (the documented recipe of docs/index.md, the least any status must do);
* shallow audit vs baseline B: A plus one os.stat per ok clip (the least a file check must do).

Absolute numbers depend on the disk and on other work on the machine; the ratios are the figures.
Run::

    python benchmarks/audit_scale.py [--clips 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from kinetics.corpus.audit import AuditOptions, audit
from kinetics.corpus.index import CLIP_SCHEMA, CorpusIndex
from kinetics.corpus.layout import safe_label
from kinetics.corpus.status import corpus_status
from kinetics.manifests.schema import MANIFEST_SCHEMA


def build(root: Path, clips: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from media import make_clip

    sample = make_clip(root / "sample.mp4", seconds=1, fps=10, width=32, height=24, audio=False)
    ids = [f"b{i:010d}" for i in range(clips)]
    clip_ids = [f"{y}_000000_000010" for y in ids]
    labels = [f"class {i % 400}" for i in range(clips)]
    index = CorpusIndex(root)
    index.add_targets(pa.table({
        "clip_id": clip_ids, "youtube_id": ids, "time_start": [0.0] * clips, "time_end": [10.0] * clips, "label": labels,
        "label_index": pa.array([i % 400 for i in range(clips)], pa.int32()), "split": ["train"] * clips, "version": ["400"] * clips,
    }, schema=MANIFEST_SCHEMA))
    recorded = int(clips * 0.95)
    status = ["missing" if i % 20 == 0 else "ok" for i in range(recorded)]
    paths = [f"train/{safe_label(labels[i])}/{clip_ids[i]}.mp4" if s == "ok" else None for i, s in enumerate(status)]
    size = sample.stat().st_size
    copies = root / ".samples"  # one copy per class to link to (a file has at most ~65,000 links)
    copies.mkdir()
    for n, rel in enumerate(p for p in paths if p):
        target = root / rel
        if n % 5000 == 1:
            continue  # vanished
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True)
            shutil.copyfile(sample, copies / target.parent.name)
        os.link(copies / target.parent.name, target)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    columns = {name: [None] * recorded for name in CLIP_SCHEMA.names}
    columns.update(
        attempt_id=[f"a{i}" for i in range(recorded)], clip_id=clip_ids[:recorded], youtube_id=ids[:recorded],
        time_start=[0.0] * recorded, time_end=[10.0] * recorded, split=["train"] * recorded, label=labels[:recorded],
        label_index=[i % 400 for i in range(recorded)], status=status,
        reason=[None if s == "ok" else "unavailable" for s in status], path=paths,
        bytes=[size if p else None for p in paths], duration=[1.0 if p else None for p in paths], source=["youtube"] * recorded,
        finished_at=[start + timedelta(seconds=i) for i in range(recorded)],
    )
    index.clips.append(pa.table(columns, schema=CLIP_SCHEMA))


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def baseline_latest(root: Path):
    import pandas as pd

    df = pd.read_parquet(root / "index" / "clips")
    return df.sort_values("finished_at").drop_duplicates("clip_id", keep="last")


def baseline_stat(root: Path):
    current = baseline_latest(root)
    found = 0
    for rel in current.loc[current.status == "ok", "path"]:
        try:
            os.stat(root / rel)
            found += 1
        except FileNotFoundError:
            pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch) / "corpus"
        root.mkdir(parents=True, exist_ok=True)
        build_s, _ = timed(lambda: build(root, args.clips))
        a_s, _ = timed(lambda: baseline_latest(root))
        status_s, status = timed(lambda: corpus_status(root))
        b_s, found = timed(lambda: baseline_stat(root))
        audit_s, report = timed(lambda: audit(AuditOptions(root=root)))
    print(f"clips: {args.clips:,} (built in {build_s:.1f} s); ok in index {status.total.ok:,}, files found {found:,}")
    print(f"baseline A, latest row per clip (pandas):   {a_s:7.2f} s")
    print(f"kinetics status:                            {status_s:7.2f} s   ratio {status_s / a_s:.2f}x baseline A")
    print(f"baseline B, A + os.stat per ok clip:        {b_s:7.2f} s")
    print(f"kinetics audit (shallow):                   {audit_s:7.2f} s   ratio {audit_s / b_s:.2f}x baseline B")
    print(f"audit found: ok {report.ok:,}, broken {sum(sum(s.broken.values()) for s in report.splits):,}, "
          f"pending {sum(s.pending for s in report.splits):,}")


if __name__ == "__main__":
    main()
