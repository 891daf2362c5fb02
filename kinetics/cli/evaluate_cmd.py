"""``kinetics evaluate``: a checkpoint's accuracy on the clips this corpus has, beside the paper's figures."""

from __future__ import annotations

from kinetics.cli.common import EXIT_OK, Examples, add_json, emit_json, warn

EXAMPLES = """\
examples:
  kinetics evaluate --root ~/k400 --checkpoint i3d_inception.deepmind_rgb_imagenet          # the RGB baseline
  kinetics evaluate --root ~/k400 --checkpoint i3d_inception.deepmind_rgb_imagenet \\
                    --flow-checkpoint i3d_inception.deepmind_flow_imagenet                  # two-stream (logits added)
  kinetics evaluate --root ~/k400 --checkpoint runs/rgb/model.pt --predictions val.parquet  # your run, per-clip output
  kinetics evaluate --root ~/k400 --checkpoint runs/rgb/last.pt --views 3 --crops 3 --frames 64   # multi-view
  kinetics evaluate --root ~/k400 --checkpoint i3d_inception.deepmind_rgb_imagenet --limit 500 --json

The paper's test protocol by default: the whole clip (middle 250 frames at 25 fps, looped if shorter), short side
256, centre 224 crop, logits averaged over time. The report gives top-1 / top-5 / mean class accuracy per stream
(and fused), the clips evaluated, and the clips of the split this corpus is missing (index targets vs ok), beside
the paper's Table 3 (Kinetics-400 test: RGB 71.1, flow 63.4, two-stream 74.2, ImageNet then Kinetics). The paper's
figures are on the held-out test set, not val. --json adds per-class accuracy and the confusion matrix.
"""


def register(subparsers) -> None:
    from kinetics.training.options import EvalOptions
    from kinetics.training.flags import add_dataclass_flags

    parser = subparsers.add_parser(
        "evaluate", help="accuracy of a checkpoint on a split, beside the paper's figures",
        description="Evaluate an I3D checkpoint (or an RGB + flow pair) on a split of a corpus with the paper's "
        "test protocol: top-1, top-5, per-class accuracy, confusion matrix, predictions to Parquet.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_dataclass_flags(parser, EvalOptions)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from kinetics.training.evaluate import EvalOptions, evaluate
    from kinetics.training.flags import given_values

    report = evaluate(EvalOptions(**given_values(args, EvalOptions)))
    if args.json:
        emit_json(report.as_dict())
    else:
        print(report.format())
        for clip_id, message in report.failed[:5]:
            warn(f"{clip_id}: {message}")
        predictions = report.predictions or "FILE.parquet  (evaluate again with --predictions FILE.parquet)"
        print(f"see it: kinetics report --root {report.root} --out report.html --predictions {predictions}")
    return EXIT_OK
