"""``kinetics train``: train I3D on a corpus with the paper's protocol; every TrainConfig field is a flag."""

from __future__ import annotations

import os
from pathlib import Path

from kinetics.cli.common import EXIT_OK, Examples, add_json, add_progress, emit_json

EXAMPLES = """\
examples:
  kinetics train --root ~/k400 --stream rgb --init imagenet2d --init-weights googlenet.pth   # the paper's RGB run
  kinetics train --root ~/k400 --stream flow --out runs/flow                 # flow from scratch ("Kinetics only")
  kinetics train --root ~/k400 --init checkpoint --init-weights i3d_inception.deepmind_rgb_imagenet --lr 0.01
  kinetics train --config rgb.toml --batch-size 8                            # file settings, a flag overrides one
  kinetics train --config rgb.toml --resume                                  # continue OUT/last.pt exactly
  kinetics train --root ~/k400 --lr-schedule steps --lr-milestones 97000 108000 --max-steps 115000
  kinetics train --root ~/ucf101 --dataset ucf101 --fold 1 --init checkpoint --init-weights run/model.pt
  torchrun --standalone --nproc-per-node 8 -m kinetics train --root ~/k400 --out runs/rgb8   # 8 GPUs, one node
  torchrun --nnodes 4 --nproc-per-node 8 --node-rank $NODE --rdzv-backend c10d \\
           --rdzv-endpoint head:29400 --rdzv-id rgb -m kinetics train --root /shared/k400 --out /shared/runs/rgb

Defaults are the paper's: 64-frame clips at 25 fps, short side 256, random 224 crop and flip, SGD momentum 0.9,
lr 0.1 divided by 10 on a validation plateau, dropout 0.5, weight decay 1e-7, batch 6 per process. A config file
(.json or .toml) holds the same names as the flags (lr_drop_factor = 0.1); flags override it. OUT gets last.pt
(resume state), model.pt (final weights), metrics.jsonl (with data_wait_fraction) and TensorBoard events when
tensorboard is installed. Mixed precision is on by default on CUDA (--precision fp32 turns it off).
"""


def register(subparsers) -> None:
    from kinetics.training.config import TrainConfig
    from kinetics.training.flags import add_dataclass_flags

    parser = subparsers.add_parser(
        "train", help="train I3D (RGB or flow stream) on a corpus",
        description="Train one I3D stream on the ok clips of a corpus (or a UCF-101 / HMDB-51 split), with the "
        "paper's protocol as defaults, exact resumption, and multi-GPU training under torchrun.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    parser.add_argument("--config", type=Path, default=None, help="JSON or TOML file of settings; flags override it")
    add_dataclass_flags(parser.add_argument_group("settings (TrainConfig fields)"), TrainConfig)
    add_progress(parser)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from kinetics.training.config import TrainConfig
    from kinetics.training.flags import given_values
    from kinetics.training.train import train

    config = TrainConfig.from_sources(file=args.config, overrides=given_values(args, TrainConfig))
    summary = train(config, progress=args.progress)
    if int(os.environ.get("RANK", "0")) == 0:
        if args.json:
            emit_json(summary.as_dict())
        else:
            print(summary.format())
            print(f"curves: kinetics report --root {config.root} --out {summary.out / 'report.html'} --run {summary.out}")
    return EXIT_OK
