"""Refuse a worker pool started from a script's top level without ``if __name__ == "__main__":``.

Pool workers are started with ``spawn`` (or ``forkserver``): each one imports the main script
again, as ``__mp_main__``. Code that is not under the guard runs again in every worker, which
starts its own pool, which multiprocessing refuses mid-bootstrap, so every item of the run comes
back failed. The parent can see this coming: it looks for the main script's module-level frame on
its own stack and asks the script's syntax tree whether that line sits under the guard.
"""

from __future__ import annotations

import ast
import sys
from types import FrameType

from kinetics.errors import KineticsError


class MainGuardError(KineticsError):
    """A process pool was requested from unguarded top-level code of the main script."""


def check_main_guard(start_method: str = "spawn") -> None:
    """Raise MainGuardError when this call comes from the main script's top level, outside the guard.

    Interactive sessions, ``python -c``, notebooks and calls from other threads are not checked:
    they have no main script file, or no main-module frame on this stack.
    """
    if start_method not in ("spawn", "forkserver"):
        return
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not str(path).endswith(".py"):
        return
    spec = getattr(main, "__spec__", None)
    if spec is not None and (spec.name == "__main__" or spec.name.endswith(".__main__")):
        return  # `python -m package`: multiprocessing does not re-import a package's __main__ in workers
    frame = _module_frame(main.__dict__)
    if frame is None:
        return
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return
    line = frame.f_lineno
    if any(_is_guard(node) and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line) for node in tree.body):
        return
    raise MainGuardError(
        f"{path}:{line}: a process pool (jobs > 1) was started from the script's top level. Its workers "
        "re-import the script and would run it again, failing every clip. Put the code that starts the "
        'run under the guard:\n\n    if __name__ == "__main__":\n        main()\n\n'
        "or use jobs=1 (see docs/download.md, 'Python API')"
    )


def _module_frame(namespace: dict) -> FrameType | None:
    """The frame running the main module's top-level code, if it is on this stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is namespace and frame.f_code.co_name == "<module>":
            return frame
        frame = frame.f_back
    return None


def _is_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1):
        return False
    if not isinstance(node.test.ops[0], ast.Eq):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    values = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and values == ["__main__"]
