"""How fast manifests are read: the vectorised reader (fastcsv) against the row-by-row one, same run.

Reads every real annotation CSV in shared/data (about 490,000 rows in 12 files) both ways and
checks that the two tables are identical, then prints rows per second and the ratio. The
row-by-row path is what any file with a malformed row takes (it reports each problem's line).
Other work on the machine makes absolute numbers noisy; the ratio is the figure to compare. Run::

    python benchmarks/manifests_read.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from timing import best_of

from kinetics.manifests.readers import Manifest, _csv_rows


def row_by_row(path: Path) -> Manifest:
    text = path.read_text(encoding="utf-8-sig")
    return Manifest._build(_csv_rows(io.StringIO(text, newline=""), str(path)), str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in args.data.glob("kinetics*/**/*.csv"))
    Manifest.from_file(files[0])  # imports and first-call costs out of the timings
    slow_s, slow = best_of(args.repeat, lambda: [row_by_row(f) for f in files])
    fast_s, fast = best_of(args.repeat, lambda: [Manifest.from_file(f) for f in files])
    rows = sum(m.report.rows_read for m in fast)
    assert all(a.table.equals(b.table) for a, b in zip(fast, slow)), "the two readers disagree"
    print(f"files: {len(files)}  rows: {rows:,}")
    print(f"row-by-row (baseline): {slow_s:7.3f} s  {rows / slow_s:12,.0f} rows/s")
    print(f"vectorised:            {fast_s:7.3f} s  {rows / fast_s:12,.0f} rows/s")
    print(f"speed-up: {slow_s / fast_s:.1f}x  (tables identical)")


if __name__ == "__main__":
    main()
