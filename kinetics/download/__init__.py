"""The corpus builder: clip selection, yt-dlp section downloads, normalisation, the run. See docs/download.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(__name__))
