"""How long `kinetics report` takes on a 650,000-clip corpus, and how big the page is.

Builds the synthetic corpus of ``audit_scale.py`` (N target clips over 400 classes, 90 % ok with a
file on disk as hard links to one tiny MP4 per class, 5 % missing, 5 % pending, a few vanished
files), then, in the same run, times:

* baseline: ``corpus_status`` + a shallow ``audit`` (the numbers the report must agree with: it
  calls both, so this is the least a report with audited numbers can cost);
* ``build_report`` (all sections, 4 frame strips decoded);
* ``build_report(audit=False)`` (index only: no file is stat'ed).

Prints wall and CPU seconds (CPU: this process, time.process_time) and the page size. Run::

    python benchmarks/report_scale.py [--clips 650000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from audit_scale import build

from kinetics.corpus.audit import AuditOptions, audit
from kinetics.corpus.status import corpus_status
from kinetics.report import build_report


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=650_000)
    parser.add_argument("--keep", type=Path, default=None, help="build the corpus here and keep it (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch) / "corpus"
        if not (root / "index").is_dir():
            root.mkdir(parents=True, exist_ok=True)
            seconds, _, _ = timed(lambda: build(root, args.clips))
            print(f"built a {args.clips:,}-clip corpus in {seconds:.1f} s ({root})")
        out = Path(scratch) / "report.html"
        base_wall, base_cpu, _ = timed(lambda: (corpus_status(root), audit(AuditOptions(root=root, show_progress=False))))
        full_wall, full_cpu, full = timed(lambda: build_report(root, out))
        quick_wall, quick_cpu, quick = timed(lambda: build_report(root, Path(scratch) / "quick.html", audit=False))
    print(f"clips: {args.clips:,}; usable: {sum(full.counts.values()):,}")
    print(f"baseline, status + shallow audit:   {base_wall:6.1f} s wall {base_cpu:6.1f} s CPU")
    print(f"kinetics report:                    {full_wall:6.1f} s wall {full_cpu:6.1f} s CPU   "
          f"{full.bytes / 1e6:.2f} MB, {full.images} figures; {full_cpu / base_cpu:.2f}x the baseline's CPU")
    print(f"kinetics report --no-audit:         {quick_wall:6.1f} s wall {quick_cpu:6.1f} s CPU   "
          f"{quick.bytes / 1e6:.2f} MB, {quick.images} figures")


if __name__ == "__main__":
    main()
