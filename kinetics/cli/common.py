"""What every verb shares: exit codes, common flags, JSON output, error reporting."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1  # the work failed, or a check the user asked for did not pass
EXIT_USAGE = 2  # bad flags or arguments (argparse uses 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C; everything finished so far is kept

#: kinetics.manifests.schema.VERSIONS, repeated here so that ``--help`` does not import pyarrow
#: (tests/core/test_cli.py checks that the two agree).
VERSIONS = ("400", "600", "700", "700-2020")


def add_root(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--root", required=required, help="corpus root directory")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def add_executor(parser: argparse.ArgumentParser, *, default_jobs: int = 1) -> None:
    group = parser.add_argument_group("execution")
    group.add_argument("--jobs", "-j", type=int, default=default_jobs, help=f"parallel workers (default {default_jobs})")
    from kinetics.executors import EXECUTORS  # light: no Ray until one is asked for

    group.add_argument(
        "--executor", choices=EXECUTORS, default="local", help="local process pool (default) or a Ray cluster"
    )
    group.add_argument("--address", default=None, help="Ray cluster address (with --executor ray); 'auto' inside one")
    group.add_argument(
        "--cpus-per-task", type=positive_float, default=None, metavar="N",
        help="CPUs each Ray worker reserves on its node: a node hosts its CPUs / N workers (e.g. 0.25 for downloads)",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show a progress bar (default: only when stderr is a terminal)",
    )


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=_json_default)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "__fspath__"):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def error(message: str) -> None:
    """One line on stderr, prefixed with the program name, as Unix tools do."""
    print(f"kinetics: error: {message}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"kinetics: warning: {message}", file=sys.stderr)


class Examples(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-written examples in each verb's epilog as they are typed."""
