"""``kinetics download``: fetch the annotated windows of a manifest into a corpus root."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict
from pathlib import Path

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, Examples, VERSIONS, add_executor, add_json, add_progress, add_root, emit_json
from kinetics.download.normalise import PRESETS  # light: no pyarrow, yt-dlp or PyAV at import

EXAMPLES = """\
examples:
  kinetics download --root ~/k400 --split val                         # all of Kinetics-400 val, 256 px short side
  kinetics download --root ~/k400 --split train --classes "abseiling,archery" --per-class 20 -j 4
  kinetics download --root ~/k400 --split train --classes @my_classes.txt --fps 25 --no-audio
  kinetics download --root /mnt/k700 --version 700 --split train --shard 2/8 -j 8     # machine 3 of 8
  kinetics download --root /mnt/k700 --version 700 --executor ray --address auto -j 256 \
      --cpus-per-task 0.25 --throttle-group nat-a                                     # a Ray cluster behind one NAT
  kinetics download --root ~/sub --manifest subset.csv --short-side 0                 # any manifest, original size
  kinetics download --root ~/k400 --split val --retry-failed --cookies cookies.txt --sleep 2
  kinetics download --root ~/k400 --split val --rate-limit 2M --proxy socks5://127.0.0.1:1080
  kinetics download --root ~/k400 --split val --json > summary.json                   # exit 0 with missing clips, 1 if one failed
  kinetics download --root ~/k400 --split val --source cvdf -j 4                      # the CVDF mirror first ...
  kinetics download --root ~/k400 --split val                                         # ... then YouTube for the rest

Re-running the same command skips every clip already settled; Ctrl-C keeps all finished work.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download", help="fetch and normalise the clips of a manifest",
        description="Fetch only the annotated window of each video with yt-dlp, trim it exactly, re-encode it "
        "(H.264 MP4, faststart, short GOP) and record every attempt in the corpus index.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser)
    what = parser.add_argument_group("what to fetch")
    what.add_argument("--version", default="400", choices=VERSIONS, help="official manifest (default 400)")
    what.add_argument("--manifest", type=Path, default=None, help="a CSV, JSON or Parquet manifest instead of the official one")
    what.add_argument("--source", choices=["youtube", "cvdf"], default="youtube",
                      help="youtube: each window from YouTube (default); cvdf: the CVDF mirror's tar.gz parts")
    what.add_argument("--base-url", default=None, help="--source cvdf: where the part lists are (default CVDF's S3 bucket)")
    what.add_argument("--split", default=None, help="only this split (train, val, test)")
    what.add_argument("--classes", type=_classes, default=None, help="comma-separated class names, or a file (FILE or @FILE) with one per line")
    what.add_argument("--limit", type=int, default=None, help="at most N clips in all")
    what.add_argument("--per-class", type=int, default=None, help="at most N clips per class")
    what.add_argument("--shard", type=_shard, default=None, help="take shard i of n (0-based), e.g. 0/4, split by sha1(clip_id)")
    fmt = parser.add_argument_group("output format")
    fmt.add_argument("--short-side", type=int, default=256, help="resize the short side to N pixels; 0 keeps it (default 256)")
    fmt.add_argument("--fps", type=float, default=None, help="fixed frame rate (default: keep the source's)")
    fmt.add_argument("--no-audio", dest="audio", action="store_false", help="drop the audio track")
    fmt.add_argument("--keyframe-interval", type=float, default=0.5, help="seconds between keyframes (default 0.5)")
    fmt.add_argument("--crf", type=int, default=23, help="x264 quality, lower is better (default 23)")
    fmt.add_argument("--preset", default="veryfast", choices=PRESETS)
    add_executor(parser)
    polite = parser.add_argument_group("network and politeness")
    polite.add_argument("--url-template", default=None, help="URL for an id, default https://www.youtube.com/watch?v={youtube_id}")
    polite.add_argument("--sleep", type=float, default=0.0, help="seconds between requests, per worker")
    polite.add_argument("--rate-limit", type=_bytes_per_second, default=None, help="bytes/s per worker, e.g. 500K or 2M")
    polite.add_argument("--cookies", type=Path, default=None, help="Netscape cookies file")
    polite.add_argument("--cookies-from-browser", default=None, metavar="BROWSER", help="BROWSER[+KEYRING][:PROFILE][::CONTAINER]")
    polite.add_argument("--proxy", default=None, help="http://, https:// or socks5:// proxy URL")
    polite.add_argument("--socket-timeout", type=float, default=20.0, help="seconds before a silent request fails (default 20)")
    polite.add_argument("--stall-timeout", type=float, default=30.0, help="seconds before a stalled media transfer fails (default 30)")
    retry = parser.add_argument_group("retries and back-off")
    retry.add_argument("--max-attempts", type=int, default=3, help="attempts per clip and run for transient failures (default 3)")
    retry.add_argument("--retry-pause", type=float, default=5.0, help="seconds before the first retry, doubling (default 5)")
    retry.add_argument("--retry-failed", action="store_true", help="also retry clips whose latest attempt failed")
    retry.add_argument("--backoff-base", type=float, default=60.0, help="first shared pause after HTTP 429 (default 60 s)")
    retry.add_argument("--backoff-cap", type=float, default=1800.0, help="longest shared pause (default 1800 s)")
    retry.add_argument("--throttle-group", default=None, metavar="NAME",
                       help="share one back-off among every node given this NAME, e.g. nodes behind one NAT address "
                       "(default: one per host)")
    retry.add_argument("--duration-tolerance", type=float, default=0.5, help="accepted clip length error in seconds (default 0.5)")
    parser.add_argument("--ffmpeg", default=None, help="ffmpeg binary (default: $KINETICS_FFMPEG, PATH, then imageio-ffmpeg)")
    add_progress(parser)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.download.cvdf import CVDF_BASE_URL
    from kinetics.download.run import DownloadOptions, download_clips
    from kinetics.download.select import Selection
    from kinetics.download.youtube import DEFAULT_URL_TEMPLATE
    from kinetics.errors import KineticsError

    try:
        options = DownloadOptions(
            root=Path(args.root).expanduser(), version=args.version, manifest=args.manifest,
            source=args.source, base_url=args.base_url or CVDF_BASE_URL,
            selection=Selection(split=args.split, classes=args.classes, limit=args.limit, per_class=args.per_class, shard=args.shard),
            short_side=args.short_side, fps=args.fps, audio=args.audio, keyframe_interval_seconds=args.keyframe_interval,
            crf=args.crf, preset=args.preset, jobs=args.jobs, executor=args.executor, address=args.address,
            cpus_per_task=args.cpus_per_task, throttle_group=args.throttle_group,
            url_template=args.url_template or DEFAULT_URL_TEMPLATE, sleep_seconds=args.sleep, rate_limit=args.rate_limit,
            cookies=args.cookies, cookies_from_browser=args.cookies_from_browser, proxy=args.proxy,
            max_attempts=args.max_attempts, retry_pause_seconds=args.retry_pause, retry_failed=args.retry_failed,
            backoff_base_seconds=args.backoff_base, backoff_cap_seconds=args.backoff_cap,
            socket_timeout_seconds=args.socket_timeout, stall_timeout_seconds=args.stall_timeout,
            duration_tolerance_seconds=args.duration_tolerance, ffmpeg=args.ffmpeg, progress=args.progress,
        )
    except ValueError as err:
        raise KineticsError(str(err)) from err
    summary = download_clips(options)
    if args.json:
        emit_json(asdict(summary))
    failed = summary.failed - summary.lost  # a clip whose worker died is left pending, not recorded failed
    if failed:  # the rule of every clip command (flow too): exit 1 when a clip of this run was recorded failed
        print(f"kinetics: {failed} of {summary.selected} clips failed (kinetics status shows why; "
              "--retry-failed retries them); missing clips are not failures", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _classes(value: str) -> tuple[str, ...]:
    from kinetics.download.select import parse_classes
    from kinetics.errors import KineticsError

    try:
        return parse_classes(value)
    except KineticsError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _shard(value: str):
    from kinetics.download.select import Shard

    try:
        return Shard.parse(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _bytes_per_second(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", value, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"rate limit must be a positive number of bytes/s like 500K or 2M, got {value!r}")
    return int(float(match.group(1)) * 1024 ** " KMG".index(match.group(2).upper() or " "))
