"""``kinetics``: one console script, one module per verb (``kinetics/cli/<verb>_cmd.py``).

Each verb module defines ``register(subparsers)`` (flags, help, examples) and ``run(args) -> int``;
only the module of the verb being run is imported.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from kinetics.cli.common import EXIT_FAILURE, EXIT_INTERRUPTED, error

#: verb -> (module under kinetics.cli, one-line help). Only the module of the verb being run is
#: imported, so ``kinetics status`` does not pay for importing torch; the help lines here are what
#: ``kinetics --help`` lists (tests check they match each module's own).
VERBS = {
    "manifests": ("manifests_cmd", "pull, import and inspect annotation manifests"),
    "download": ("download_cmd", "fetch and normalise the clips of a manifest"),
    "status": ("status_cmd", "per-split totals and ETA of a corpus (from its index)"),
    "audit": ("audit_cmd", "check a corpus against its manifest and disk; fingerprints"),
    "doctor": ("doctor_cmd", "check ffmpeg, yt-dlp (and its age), a JavaScript runtime, PyAV, torch, write access, disk"),
    "flow": ("flow_cmd", "compute optical flow for a corpus"),
    "prepare": ("prepare_cmd", "download and extract UCF-101 or HMDB-51"),
    "train": ("train_cmd", "train I3D (RGB or flow stream) on a corpus"),
    "evaluate": ("evaluate_cmd", "accuracy of a checkpoint on a split, beside the paper's figures"),
    "transfer": ("transfer_cmd", "fine-tune or linear-probe I3D on UCF-101 / HMDB-51 (the paper's Tables 4 and 5)"),
    "features": ("features_cmd", "write each clip's I3D embedding to Parquet"),
    "predict": ("predict_cmd", "top classes of video files with a pretrained I3D"),
    "report": ("report_cmd", "one self-contained HTML report of a corpus, its results and runs"),
}


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The full parser for ``verb`` (every verb's when None); the other verbs get a stub that lists them."""
    from kinetics import __version__

    parser = argparse.ArgumentParser(
        prog="kinetics",
        description="Build, audit and load the Kinetics corpus; train and evaluate I3D on it.",
    )
    parser.add_argument("--version", action="version", version=f"kinetics {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for name, (module_name, help_line) in VERBS.items():
        if verb is None or name == verb:
            importlib.import_module(f"kinetics.cli.{module_name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _verb(argv: list[str]) -> str | None:
    """The verb named on the command line, if any (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in VERBS else None
    return None


def main(argv: list[str] | None = None) -> int:
    from kinetics.errors import KineticsError

    argv = sys.argv[1:] if argv is None else argv
    verb = _verb(argv)
    parser = build_parser(verb) if verb else build_parser("")
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        error("interrupted; work finished so far is kept in the index")
        return EXIT_INTERRUPTED
    except KineticsError as err:
        error(str(err))
        return EXIT_FAILURE
    except BrokenPipeError:  # `kinetics status | head`: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
