"""Read an untrusted pickle of NumPy arrays without letting it run code.

``pickle.load`` calls whatever callable a file names (``os.system`` is one ``REDUCE`` away), so a
weights file from a package archive is read with :class:`ArrayUnpickler`: its ``find_class``
resolves only what rebuilding NumPy arrays and dtypes needs, and refuses every other global with
:class:`UnsafePickleError`. Plain containers (dict, list, tuple), str, bytes, numbers, bool and
None need no global and pass. After loading, every array must have a numeric or bool dtype (an
object array could hold anything), which :func:`load_arrays` checks.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping

import numpy as np

from kinetics.errors import CheckpointError

#: The globals a pickle of NumPy arrays names (numpy.core became numpy._core in NumPy 2).
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "OrderedDict"),
})


class UnsafePickleError(CheckpointError):
    """A pickle names something other than NumPy arrays and plain containers (refused, never called)."""


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild NumPy arrays, dtypes and plain containers."""

    def __init__(self, file, *, source: str = "<pickle>"):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"{self.source}: refused to load {module}.{name}: this file may only hold NumPy arrays and plain "
                f"containers, and loading it would have called {module}.{name} (the file is corrupt or malicious)")
        if module.startswith("numpy.core") and not hasattr(np, "core"):  # pragma: no cover - NumPy without the alias
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.source}: refused a persistent id {pid!r}: not a pickle of NumPy arrays")


def load_arrays(data: bytes, *, source: str = "<pickle>") -> object:
    """The object pickled in ``data``, rebuilt by :class:`ArrayUnpickler`; every array checked to be numeric."""
    try:
        loaded = ArrayUnpickler(io.BytesIO(data), source=source).load()
    except UnsafePickleError:
        raise
    except Exception as err:  # truncated, corrupt: pickle raises many kinds
        raise CheckpointError(f"{source}: not a readable pickle of NumPy arrays: {type(err).__name__}: {err}") from err
    _check_values(loaded, source, "")
    return loaded


def _check_values(value: object, source: str, where: str) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            raise UnsafePickleError(f"{source}: {where or 'the array'} has dtype {value.dtype}: only numeric arrays are accepted")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise UnsafePickleError(f"{source}: {where}: a key of type {type(key).__name__}")
            _check_values(item, source, f"{where}/{key}")
    elif isinstance(value, (list, tuple)):
        for number, item in enumerate(value):
            _check_values(item, source, f"{where}[{number}]")
    elif not isinstance(value, (str, bytes, int, float, complex, bool, type(None), np.generic)):
        raise UnsafePickleError(f"{source}: {where}: unexpected {type(value).__name__}")
