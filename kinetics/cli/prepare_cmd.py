"""``kinetics prepare``: download, verify and extract UCF-101 or HMDB-51 for fine-tuning."""

from __future__ import annotations

import argparse
from pathlib import Path

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, Examples, add_json, add_progress, add_root, emit_json, warn

EXAMPLES = """\
examples:
  # fetch the official UCF-101 videos and splits into ~/data/ucf101 (about 6.5 GB)
  kinetics prepare ucf101 --root ~/data/ucf101

  # HMDB-51 (a RAR of 51 per-class RARs, about 2 GB); keep the archives afterwards
  kinetics prepare hmdb51 --root ~/data/hmdb51 --keep-archives

  # from a local mirror holding UCF101.rar and UCF101TrainTestSplits-RecognitionTask.zip
  kinetics prepare ucf101 --root ~/data/ucf101 --base-url http://mirror.lan/ucf101

  # an interrupted run resumes where it stopped: just run the same command again
  kinetics prepare hmdb51 --root ~/data/hmdb51 --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="download and extract UCF-101 or HMDB-51",
        description=(
            "Download the official UCF-101 or HMDB-51 video and split archives (resuming partial downloads), "
            "verify them, and extract them safely into the layout UCF101Dataset / HMDB51Dataset read."
        ),
        epilog=EXAMPLES,
        formatter_class=Examples,
    )
    parser.add_argument("dataset", choices=["ucf101", "hmdb51"], help="which dataset to prepare")
    add_root(parser)
    parser.add_argument("--base-url", default=None, help="fetch each archive from BASE_URL/<archive name> instead of the official URLs")
    parser.add_argument("--keep-archives", action="store_true", help="keep the downloaded archives under ROOT/archives/")
    parser.add_argument(
        "--no-verify", dest="verify_checksums", action="store_false",
        help="do not compare downloads with the registry's size and sha256 (member CRCs are still checked)",
    )
    parser.add_argument("--attempts", type=_positive_int, default=5, help="download attempts per URL, each resuming the last (default 5)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without data before an attempt is abandoned (default 60)")
    add_progress(parser)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.data.prepare import PrepareOptions, prepare_dataset

    options = PrepareOptions(
        dataset=args.dataset,
        root=Path(args.root).expanduser(),
        base_url=args.base_url,
        keep_archives=args.keep_archives,
        verify_checksums=args.verify_checksums,
        attempts=args.attempts,
        timeout_seconds=args.timeout,
        show_progress=args.progress,
    )
    summary = prepare_dataset(options)
    if args.json:
        emit_json(summary.as_dict())
    if summary.videos_missing:
        warn(
            f"{summary.videos_missing} of the {summary.videos_listed} videos the split files list are not on disk "
            f"(e.g. {', '.join(summary.missing_examples)}); delete {summary.root}/archives/*.done.json and run again"
        )
        return EXIT_FAILURE
    return EXIT_OK


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
