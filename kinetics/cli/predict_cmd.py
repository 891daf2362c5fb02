"""``kinetics predict``: the top classes a pretrained I3D gives each video file."""

from __future__ import annotations

import argparse

from kinetics.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Examples,
    add_json,
    emit_json,
    error,
)

EXAMPLES = """\
examples:
  kinetics predict cricket.mp4 --checkpoint i3d_inception.deepmind_rgb_scratch     # DeepMind's RGB model, top 5
  kinetics predict a.mp4 b.webm c.gif --checkpoint i3d_inception.deepmind_rgb_imagenet --top 10 --json
  kinetics predict match.mkv --checkpoint i3d_inception.deepmind_rgb_imagenet --window 60 70   # 1:00 to 1:10 only
  kinetics predict clip.avi --checkpoint i3d_inception.deepmind_rgb_imagenet \\
                            --flow-checkpoint i3d_inception.deepmind_flow_imagenet           # two-stream, TV-L1 flow
  kinetics predict clip.mp4 --checkpoint runs/rgb/model.pt                                   # your own run

The paper's test protocol by default: frames at 25 fps, short side 256, centre 224 crop, the whole video through
the network (longer than --chunk-frames: in pieces, per-time logits averaged), logits averaged over time, softmax.
A flow checkpoint gets TV-L1 flow computed from the video (slow on a CPU: about a second per frame pair). Each
video gives one result; an unreadable file is reported (naming it) and the others go on; exit 1 if any failed.
"""


def register(subparsers) -> None:
    from kinetics.training.flags import add_dataclass_flags
    from kinetics.training.predict_options import PredictOptions

    parser = subparsers.add_parser(
        "predict", help="top classes of video files with a pretrained I3D",
        description="Classify video files (mp4, avi, webm, mkv, gif: anything FFmpeg reads) with an I3D checkpoint "
        "or an RGB + flow pair, with the paper's test protocol, and list the top classes with probabilities.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    parser.add_argument("--window", nargs=2, type=_seconds, metavar=("START", "END"), default=argparse.SUPPRESS,
                        help="only the part from START to END seconds (default: the whole video)")
    add_dataclass_flags(parser, PredictOptions, skip=frozenset({"videos", "window"}))
    add_json(parser)
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be seconds >= 0, got {text!r}")
    return value


def run(args) -> int:
    from kinetics.training.flags import given_values
    from kinetics.training.predict import PredictOptions, predict

    values = given_values(args, PredictOptions)
    results = predict(PredictOptions(**values))
    if args.json:
        emit_json({"videos": [r.as_dict() for r in results]})
    elif any(r.ok for r in results):
        print("\n".join(r.format() for r in results if r.ok))
    for result in results:
        if not result.ok:
            error(result.error or "failed")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILURE
