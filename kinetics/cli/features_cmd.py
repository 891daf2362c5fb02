"""``kinetics features``: the pooled 1024-d I3D embedding of every clip, to Parquet."""

from __future__ import annotations

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, Examples, add_executor, add_json, emit_json, warn

EXAMPLES = """\
examples:
  kinetics features --root ~/k400 --checkpoint i3d_inception.deepmind_rgb_imagenet --split val --out val.parquet
  kinetics features --root ~/k400 --checkpoint runs/flow/model.pt --out flow.parquet       # every split, flow
  kinetics features --root ~/k400 --checkpoint i3d_inception.deepmind_rgb_imagenet --jobs 4 --threads 4
  kinetics features --root /shared/k400 --checkpoint ckpt.pt --executor ray --address auto --jobs 32

Each row: clip_id, label, label_index, split, embedding (fixed_size_list<float32>[1024]): Mixed_5c averaged over
time and space, the input of the logits layer, for linear probes and retrieval. The model is loaded once per
worker; clips that fail to decode are listed and left out (exit 1 only when no clip could be embedded).
"""


def register(subparsers) -> None:
    from kinetics.training.options import FeatureOptions
    from kinetics.training.flags import add_dataclass_flags

    parser = subparsers.add_parser(
        "features", help="write each clip's I3D embedding to Parquet",
        description="Embed every ok clip of a corpus (or one split) with an I3D checkpoint and write the pooled "
        "1024-d features to Parquet, in parallel on this machine or a Ray cluster.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_dataclass_flags(parser, FeatureOptions, skip=frozenset({"jobs", "executor", "address"}))
    add_executor(parser)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from kinetics.training.features import FeatureOptions, extract_features
    from kinetics.training.flags import given_values

    values = given_values(args, FeatureOptions)
    if args.cpus_per_task is not None and values.get("threads") is None:  # Ray's reservation is the worker's threads
        values["threads"] = max(1, int(args.cpus_per_task))
    summary = extract_features(FeatureOptions(**values))
    if args.json:
        emit_json(summary.as_dict())
    for clip_id, message in summary.failed[:5]:
        warn(f"{clip_id}: {message}")
    if len(summary.failed) > 5:
        warn(f"... and {len(summary.failed) - 5} more clips failed")
    return EXIT_OK if summary.clips else EXIT_FAILURE
