"""Training, evaluation, transfer and features for I3D on a corpus. See docs/training.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(__name__))
