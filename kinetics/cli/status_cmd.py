"""``kinetics status``: how far a corpus has got, per split, and the ETA of what is left."""

from __future__ import annotations

import argparse

from kinetics.cli.common import EXIT_OK, Examples, add_json, add_root, emit_json

EXAMPLES = """\
examples:
  kinetics status --root /data/kinetics400
  kinetics status --root /data/kinetics400 --split val
  kinetics status --root /data/kinetics400 --json | jq .total.availability
  watch -n 60 kinetics status --root /data/kinetics400     # while a download runs
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="per-split totals and ETA of a corpus (from its index)",
        description="Counts of ok / missing / failed / pending clips per split, missing and failed by reason, "
        "and the ETA of the pending clips at the recent download rate. Reads the index only.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser)
    parser.add_argument("--split", default=None, help="only this split")
    parser.add_argument("--window-minutes", type=float, default=15.0, help="how much recent activity the rate is measured over (default 15)")
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.corpus.status import corpus_status

    status = corpus_status(args.root, split=args.split, window_minutes=args.window_minutes)
    if args.json:
        emit_json(status.as_dict())
    else:
        print(status.format())
    return EXIT_OK
