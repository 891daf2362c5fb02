"""``kinetics report``: one self-contained HTML page of a corpus (and of an evaluation and a training run)."""

from __future__ import annotations

import argparse

from kinetics.cli.common import EXIT_OK, Examples, add_json, add_root, emit_json, warn

EXAMPLES = """\
examples:
  kinetics report --root ~/k400 --out k400.html                                 # the corpus
  kinetics report --root ~/k400 --out k400.html --predictions val.parquet       # + kinetics evaluate's results
  kinetics report --root ~/k400 --out k400.html --run runs/rgb                  # + a train (or transfer) run's curves
  kinetics report --root ~/k400 --out quick.html --no-audit --strip-classes 0   # index only: no file touched
  kinetics report --root ~/k400 --out k400.html --json | jq .missing

The page holds availability per split and class (missing / failed / broken by reason), attempts per hour,
distributions of the stored clips, frames of sample clips beside their flow (Middlebury colour coding), the
corpus fingerprint, and with --predictions / --run the results. Images are embedded: open it in any browser,
offline. What could not be shown (no flow yet, a clip that does not decode, a run without metrics) is listed
at the top of the page and on stderr.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="one self-contained HTML report of a corpus, its results and runs",
        description="Write one HTML file with plots of a corpus (availability, timeline, stored clips, frames and "
        "flow, fingerprint) and, when given, an evaluation's predictions and a training run's curves.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser)
    parser.add_argument("--out", required=True, metavar="FILE.html", help="where to write the report")
    parser.add_argument("--predictions", default=None, metavar="FILE", help="per-clip predictions of kinetics evaluate --predictions")
    parser.add_argument("--run", dest="run_dir", default=None, metavar="DIR", help="a kinetics train or transfer --out directory (metrics.jsonl)")
    parser.add_argument("--no-audit", dest="audit", action="store_false",
                        help="do not stat the clip files (faster on a slow disk; no broken counts, classes or fingerprint)")
    parser.add_argument("--strip-classes", type=int, default=4, metavar="N", help="classes with a strip of frames and flow (default 4; 0: none)")
    parser.add_argument("--strip-fields", type=int, default=6, metavar="N", help="frames per strip (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="which classes and clips the strips sample (default 0)")
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.report.build import ReportOptions, write_report

    summary = write_report(ReportOptions(
        root=args.root, out=args.out, predictions=args.predictions, run=args.run_dir, audit=args.audit,
        strip_classes=args.strip_classes, strip_fields=args.strip_fields, seed=args.seed,
    ))
    if args.json:
        emit_json(summary.as_dict())
    else:
        for line in summary.missing:
            warn(f"not shown: {line}")
    return EXIT_OK
