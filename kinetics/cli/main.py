"""``kinetics``: one console script, one module per verb (``kinetics/cli/<verb>.py``).

Each verb module defines ``register(subparsers)`` (flags, help, examples) and ``run(args) -> int``.
Modules import heavy libraries (torch, yt-dlp, av) inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kinetics.cli.common import EXIT_FAILURE, EXIT_INTERRUPTED, error

#: verb -> module under kinetics.cli (module names avoid clashing with the library's packages).
VERBS = {
    "manifests": "manifests_cmd",
    "download": "download_cmd",
    "status": "status_cmd",
    "audit": "audit_cmd",
    "doctor": "doctor_cmd",
    "flow": "flow_cmd",
    "prepare": "prepare_cmd",
    "train": "train_cmd",
    "evaluate": "evaluate_cmd",
    "transfer": "transfer_cmd",
    "features": "features_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    from kinetics import __version__

    parser = argparse.ArgumentParser(
        prog="kinetics",
        description="Build, audit and load the Kinetics corpus; train and evaluate I3D on it.",
    )
    parser.add_argument("--version", action="version", version=f"kinetics {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb, module_name in VERBS.items():
        try:
            module = importlib.import_module(f"kinetics.cli.{module_name}")
        except ModuleNotFoundError as err:
            if err.name != f"kinetics.cli.{module_name}":
                raise
            continue  # a verb not built yet does not break the others
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kinetics.errors import KineticsError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        error("interrupted; work finished so far is kept in the index")
        return EXIT_INTERRUPTED
    except KineticsError as err:
        error(str(err))
        return EXIT_FAILURE
    except BrokenPipeError:  # `kinetics status | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
