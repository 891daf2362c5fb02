"""The official annotation files: registry, pull/import, validated readers. See docs/manifests.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(__name__))
