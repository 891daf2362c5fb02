"""The corpus on disk: layout, the Parquet index, audit, status and fingerprints. See docs/index.md and docs/audit.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(__name__))
