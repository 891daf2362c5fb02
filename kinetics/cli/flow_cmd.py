"""``kinetics flow``: optical flow for every ok clip of a corpus (or every video of UCF-101 / HMDB-51)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path

from kinetics.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Examples, add_executor, add_json, add_progress, add_root, emit_json, warn

EXAMPLES = """\
examples:
  kinetics flow --root ~/k400 --split val                               # TV-L1 (the paper's flow, OpenCV's result), 25 fps
  kinetics flow --root ~/k400 --split val --method tvl1-opencv           # the same flow by OpenCV itself (~3x the CPU time)
  kinetics flow --root ~/k400 --split train --method tvl1-torch --batch-size 128   # batched TV-L1 on the GPU
  kinetics flow --root ~/k400 --split train --method dis --jobs 16       # fast approximate flow on 16 cores
  kinetics flow --root /mnt/k400 --method tvl1-torch --executor ray --address auto -j 32   # 1 GPU per worker
  kinetics flow --root /mnt/k400 --executor ray --address auto -j 512 --cpus-per-task 1    # OpenCV TV-L1, cluster CPUs
  kinetics flow --root ~/k400 --split val --warps 3 --epsilon 0.02       # TV-L1 with its own parameters
  kinetics flow --root ~/k400 --split val --codec jpeg --jpeg-quality 90 # ~2.5x smaller files, lossy
  kinetics flow --root ~/ucf101 --dataset ucf101 --method tvl1-torch     # every video of a prepared UCF-101
  kinetics flow --root ~/k400 --split val --json > flow.json             # exit 1 if any clip failed
  kinetics flow --root ~/k400 --preview 0wR5jVB-WPk_000417_000427 --out flow.png   # see a clip's stored flow (.mp4 too)

Flow field t is the motion from frame t to t + 1 in pixels (x right, y down), clipped to +-bound and
stored as uint8 in one .kflow file per clip under {root}/flow/{method}/; {root}/index/flow records it.
Re-running skips clips with ok flow for the method; Ctrl-C keeps all finished work.
"""

#: (flag, field of the method's parameter dataclass, type, help) for each method-specific flag
TVL1_FLAGS = [
    ("--tau", "tau", float, "time step (default 0.25)"),
    ("--lambda", "lambda_", float, "data-term weight; smaller = smoother flow (default 0.15)"),
    ("--theta", "theta", float, "coupling of the two sub-problems (default 0.3)"),
    ("--nscales", "nscales", int, "pyramid levels (default 5)"),
    ("--warps", "warps", int, "warps per level (default 5)"),
    ("--epsilon", "epsilon", float, "stopping threshold; 0 runs every iteration (default 0.01)"),
    ("--inner-iterations", "inner_iterations", int, "iterations per outer iteration (default 30)"),
    ("--outer-iterations", "outer_iterations", int, "outer iterations per warp (default 10)"),
    ("--scale-step", "scale_step", float, "pyramid scale factor (default 0.8)"),
    ("--gamma", "gamma", float, "illumination term weight; > 0 runs OpenCV's tvl1 (default 0)"),
    ("--median-filtering", "median_filtering", int, "median window 0/1 (off), 3 or 5 (default 5)"),
]
DIS_FLAGS = [("--dis-preset", "preset", str, "ultrafast, fast or medium (default medium)")]
FARNEBACK_FLAGS = [
    ("--pyr-scale", "pyr_scale", float, "pyramid scale (default 0.5)"),
    ("--levels", "levels", int, "pyramid levels (default 3)"),
    ("--winsize", "winsize", int, "averaging window (default 15)"),
    ("--iterations", "iterations", int, "iterations per level (default 3)"),
    ("--poly-n", "poly_n", int, "pixel neighbourhood, 5 or 7 (default 5)"),
    ("--poly-sigma", "poly_sigma", float, "Gaussian sigma of the expansion (default 1.2)"),
]
_FLAGS_BY_METHOD = {"tvl1": TVL1_FLAGS, "tvl1-numba": TVL1_FLAGS, "tvl1-opencv": TVL1_FLAGS, "tvl1-torch": TVL1_FLAGS,
                    "dis": DIS_FLAGS, "farneback": FARNEBACK_FLAGS}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "flow", help="compute optical flow for a corpus",
        description="Compute optical flow between consecutive frames at the target rate for every ok clip, "
        "store it quantised to uint8 (one file per clip) and record it in the corpus index.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    add_root(parser)
    what = parser.add_argument_group("what")
    what.add_argument("--split", default=None, help="only this split (Kinetics; default: every split)")
    what.add_argument("--dataset", default="kinetics", choices=["kinetics", "ucf101", "hmdb51"], help="kind of root (default kinetics)")
    what.add_argument("--method", default="tvl1", choices=list(_FLAGS_BY_METHOD),
                      help="flow method (default tvl1: OpenCV's TV-L1 flow by the fastest faithful implementation here)")
    what.add_argument("--limit", type=int, default=None, help="at most N clips this run")
    what.add_argument("--overwrite", action="store_true", help="recompute clips that already have ok flow")
    out = parser.add_argument_group("output")
    out.add_argument("--fps", type=float, default=25.0, help="frame rate the flow is computed at (default 25)")
    out.add_argument("--bound", type=float, default=20.0, help="clip flow to +-N pixels before quantising (default 20)")
    out.add_argument("--codec", default="zstd", choices=["zstd", "jpeg"], help="lossless zstd (default) or JPEG")
    out.add_argument("--jpeg-quality", type=int, default=95, help="JPEG quality 1-100 (default 95)")
    for title, flags in (("TV-L1 (tvl1, tvl1-numba, tvl1-opencv, tvl1-torch)", TVL1_FLAGS), ("DIS", DIS_FLAGS), ("Farneback", FARNEBACK_FLAGS)):
        group = parser.add_argument_group(title)
        for flag, dest, kind, text in flags:
            group.add_argument(flag, dest=dest, type=kind, default=None, metavar=flag[2:].upper(), help=text)
    torch_group = parser.add_argument_group("tvl1-torch")
    torch_group.add_argument("--device", default=None, help="torch device, e.g. cuda:1 (default: cuda if available, else cpu)")
    torch_group.add_argument("--batch-size", type=int, default=64, help="frame pairs per batch (default 64)")
    torch_group.add_argument("--compile", dest="compiled", action=argparse.BooleanOptionalAction, default=None,
                             help="fuse the iteration with torch.compile (default: on a GPU)")
    add_executor(parser)
    parser.add_argument("--gpus-per-task", "--gpus-per-job", dest="gpus_per_job", type=float, default=None, metavar="N",
                        help="GPUs each Ray worker reserves (default: 1 for tvl1-torch where the cluster has GPUs, else 0)")
    add_progress(parser)
    add_json(parser)
    preview = parser.add_argument_group("preview (draw a clip's stored flow instead of computing flow)")
    preview.add_argument("--preview", default=None, metavar="CLIP_ID",
                         help="draw this clip's stored flow (Middlebury colour coding) beside its RGB frames into --out")
    preview.add_argument("--out", default=None, metavar="FILE", help="with --preview: .png (a strip of fields) or .mp4 (every field)")
    preview.add_argument("--preview-fields", type=int, default=8, metavar="N", help="fields in a .png strip (default 8)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kinetics.errors import KineticsError
    from kinetics.flow.run import FlowOptions, extract_flow

    if args.preview is not None or args.out is not None:
        return _preview(args)
    try:
        options = FlowOptions(
            root=Path(args.root).expanduser(), split=args.split, method=args.method, params=method_params(args),
            dataset=args.dataset, fps=args.fps, bound=args.bound, codec=args.codec, jpeg_quality=args.jpeg_quality,
            overwrite=args.overwrite, limit=args.limit, jobs=args.jobs, executor=args.executor, address=args.address,
            gpus_per_job=args.gpus_per_job, cpus_per_task=args.cpus_per_task, device=args.device, batch_size=args.batch_size, compiled=args.compiled,
            progress=args.progress,
        )
    except (ValueError, TypeError) as err:
        raise KineticsError(str(err)) from err
    summary = extract_flow(options)
    if args.json:
        emit_json(asdict(summary))
    for clip_id, message in summary.failures[:5]:
        warn(f"{clip_id}: {message}")
    if summary.failed:
        print(f"kinetics: {summary.failed} of {summary.selected} clips failed (their records say why)", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    """``--preview CLIP_ID --out FILE``: the clip's flow of ``--method`` (by default its tvl1 flow, else any)."""
    from kinetics.flow.preview import flow_preview

    if args.preview is None or args.out is None:
        print("kinetics flow: error: --preview CLIP_ID and --out FILE go together", file=sys.stderr)
        return EXIT_USAGE
    method = None if args.method == "tvl1" else args.method  # the default: the clip's tvl1 flow, else whichever it has
    result = flow_preview(Path(args.root).expanduser(), args.preview, Path(args.out).expanduser(), method=method,
                          count=args.preview_fields)
    if args.json:
        emit_json(asdict(result))
    return EXIT_OK


def method_params(args: argparse.Namespace):
    """The method's parameters from its flags (defaults for the rest); flags of another method are an error."""
    from kinetics.flow.methods import default_params

    own = {dest for _, dest, _, _ in _FLAGS_BY_METHOD[args.method]}
    given = {}
    for flag, dest, _, _ in TVL1_FLAGS + DIS_FLAGS + FARNEBACK_FLAGS:
        value = getattr(args, dest, None)
        if value is not None and dest not in own:
            raise ValueError(f"{flag} does not apply to --method {args.method}")
        if value is not None:
            given[dest] = value
    return replace(default_params(args.method), **given)
