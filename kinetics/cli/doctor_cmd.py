"""``kinetics doctor``: check that this machine can download and decode Kinetics (no network used)."""

from __future__ import annotations

import argparse

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, Examples, VERSIONS, add_json, add_root, emit_json

EXAMPLES = """\
examples:
  kinetics doctor
  kinetics doctor --root /data/k400 --version 400 --split train    # is there room for the train split?
  kinetics doctor --root /data/k700 --version 700-2020 --bytes-per-clip 1500000
  kinetics doctor --json
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check ffmpeg, yt-dlp (and its age), a JavaScript runtime, PyAV, torch, write access, disk",
        description="Check the environment a download needs, without touching the network. Exit 1 when a required check fails.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser, required=False)
    parser.add_argument("--version", default=None, choices=VERSIONS,
                        help="what you will download (sizes the disk check; default: the --root corpus's own manifest, else 400)")
    parser.add_argument("--split", default=None, help="only this split (default: all)")
    parser.add_argument("--bytes-per-clip", type=int, default=None, help="disk estimate per clip (default ~1 MB: 10 s at 256 px short side)")
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.doctor import DEFAULT_BYTES_PER_CLIP, diagnose

    report = diagnose(root=args.root, version=args.version, split=args.split, bytes_per_clip=args.bytes_per_clip or DEFAULT_BYTES_PER_CLIP)
    if args.json:
        emit_json(report.as_dict())
    else:
        print(report.format())
    return EXIT_OK if report.ok else EXIT_FAILURE
