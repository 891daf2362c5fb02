"""``kinetics audit``: compare manifest, index and disk; fix the index; fingerprint and compare corpora."""

from __future__ import annotations

import argparse
import sys

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, Examples, add_executor, add_json, add_progress, add_root, emit_json

EXAMPLES = """\
examples:
  kinetics audit --root /data/k400                          # stat every file: vanished, empty, truncated
  kinetics audit --root /data/k400 --deep --jobs 8          # also decode every clip with PyAV
  kinetics audit --root /mnt/k400 --deep --executor ray --address auto -j 256   # decode on a Ray cluster
  kinetics audit --root /data/k400 --split val --out missing.csv
  kinetics audit --root /data/k400 --fix                    # broken -> failed (retried later); adopt valid strays
  kinetics audit --root /data/k400 --fail-under 0.9         # exit 1 when under 90% of the clips are ok
  kinetics audit --root /data/k400 --fingerprint k400.fingerprint.json.gz   # publish beside a paper
  kinetics audit --root /data/k400 --compare their.fingerprint.json.gz      # what we lack / have extra
  kinetics audit --root /data/k400 --compact                # merge the index's part files (runs do it past 64)
  kinetics audit --root /data/k400 --quarantine             # move unreadable index parts to index/quarantine/
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "audit", help="check a corpus against its manifest and disk; fingerprints",
        description="Compare the clips a corpus was asked for, what its index records and the files on disk: "
        "clips missing by reason and by class, unknown files, vanished / empty / truncated / undecodable files, "
        "wrong durations. Read-only unless --fix.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser)
    parser.add_argument("--split", default=None, help="only this split")
    parser.add_argument("--deep", action="store_true", help="decode every clip with PyAV (use --jobs)")
    parser.add_argument("--tolerance", type=float, default=0.5, metavar="SECONDS", help="allowed duration gap (default 0.5)")
    parser.add_argument("--out", default=None, metavar="FILE", help="write one row per clip that is not ok (.csv or .parquet)")
    parser.add_argument("--fix", action="store_true", help="record broken files as failed/corrupt_output and adopt valid unknown files")
    parser.add_argument("--compact", action="store_true", help="merge the index's part files into one per table (safe while downloads run)")
    parser.add_argument("--quarantine", action="store_true",
                        help="move unreadable index part files to ROOT/index/quarantine/ first (the clips they recorded become pending)")
    parser.add_argument("--fail-under", type=_fraction, default=None, metavar="FRACTION", help="exit 1 when ok/targets is below this")
    parser.add_argument("--fingerprint", default=None, metavar="OUT", help="write the ok clips per split with a content hash (.json or .json.gz)")
    parser.add_argument("--compare", default=None, metavar="FINGERPRINT", help="compare this corpus with a published fingerprint")
    add_json(parser)
    add_progress(parser)
    add_executor(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.corpus.audit import AuditOptions, audit

    options = AuditOptions(
        root=args.root, split=args.split, deep=args.deep, jobs=args.jobs, executor=args.executor,
        address=args.address, cpus_per_task=args.cpus_per_task, tolerance_seconds=args.tolerance,
        show_progress=args.progress,
    )
    quarantined: list = []
    if args.quarantine:
        from kinetics.corpus.index import CorpusIndex

        quarantined = [str(p) for p in CorpusIndex(args.root).quarantine_unreadable()]
    if args.compact:
        from kinetics.corpus.index import CorpusIndex

        compacted = CorpusIndex(args.root).compact()
    report = audit(options)
    output: dict = {"audit": report.as_dict()}
    if args.quarantine:
        output["quarantined"] = quarantined
    if args.compact:
        output["compacted_files"] = compacted
    if args.out:
        output["out"] = str(report.write_missing(args.out))
    if args.fix:
        output["fix"] = _fix(report)
        report = audit(options)  # what the index says now
        output["audit"] = report.as_dict()
    if args.fingerprint:
        from kinetics.corpus.fingerprint import write_fingerprint

        fingerprint = write_fingerprint(report, args.fingerprint)
        output["fingerprint"] = {"path": args.fingerprint, "hash": fingerprint.digest, "counts": fingerprint.counts}
    diff = None
    if args.compare:
        from kinetics.corpus.fingerprint import compare_fingerprint

        diff = compare_fingerprint(report, args.compare)
        output["compare"] = diff.as_dict()
    if args.json:
        emit_json(output)
    else:
        for path in quarantined:
            print(f"quarantined unreadable index part: {path}")
        print(report.format())
        if "fix" in output:
            print(f"fixed: {output['fix']['marked_corrupt']} broken clips marked failed (corrupt_output), {output['fix']['adopted']} files adopted")
        if diff is not None:
            print(diff.format())
    return _verdict(report, args.fail_under)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1], got {text}")
    return value


def _fix(report) -> dict:
    from kinetics.corpus.reconcile import reconcile

    summary = reconcile(report)
    return {"marked_corrupt": summary.marked_corrupt, "adopted": summary.adopted, "index_part": summary.index_part}


def _verdict(report, fail_under: float | None) -> int:
    if fail_under is None:
        return EXIT_OK
    availability = report.availability or 0.0
    if availability < fail_under:
        print(f"kinetics: availability {availability:.4f} is below --fail-under {fail_under}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
