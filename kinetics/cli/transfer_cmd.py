"""``kinetics transfer``: the paper's UCF-101 / HMDB-51 transfer protocol from a Kinetics-trained I3D."""

from __future__ import annotations

from kinetics.cli.common import EXIT_OK, Examples, add_json, emit_json

EXAMPLES = """\
examples:
  kinetics transfer --dataset ucf101 --root ~/ucf101 --init i3d_inception.deepmind_rgb_imagenet --mode fixed
  kinetics transfer --dataset hmdb51 --root ~/hmdb51 --split all --stream flow \\
                    --init i3d_inception.deepmind_flow_imagenet --mode full         # Table 5's flow row
  kinetics transfer --dataset ucf101 --root ~/ucf101 --stream both --mode full \\
                    --init i3d_inception.deepmind_rgb_imagenet --flow-init i3d_inception.deepmind_flow_imagenet

fixed: the network is frozen and a new last layer is trained on its 1024-d features; full: the whole network is
fine-tuned (runs under --out, resumable). Accuracy is reported per split and as the mean over the splits, beside
the paper figure it compares with: Table 4 (two-stream, split 1: UCF-101 fixed 97.7 / full 98.0, HMDB-51 fixed
79.7 / full 81.2, ImageNet then Kinetics) and Table 5 (full fine-tuning, mean of 3 splits: UCF-101 98.0, HMDB-51
80.7 two-stream; per-stream rows too), with what differs (stream, splits, pretraining).
"""


def register(subparsers) -> None:
    from kinetics.training.flags import add_dataclass_flags
    from kinetics.training.options import TransferOptions

    parser = subparsers.add_parser(
        "transfer", help="fine-tune or linear-probe I3D on UCF-101 / HMDB-51 (the paper's Tables 4 and 5)",
        description="Transfer a Kinetics-trained I3D to UCF-101 or HMDB-51 on their official splits, with fixed "
        "features or full fine-tuning, and compare with the paper.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_dataclass_flags(parser, TransferOptions)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from kinetics.training.flags import given_values
    from kinetics.training.transfer import TransferOptions, transfer

    report = transfer(TransferOptions(**given_values(args, TransferOptions)))
    if args.json:
        emit_json(report.as_dict())
    else:
        print(report.format())
    return EXIT_OK
