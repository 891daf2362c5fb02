"""Optical flow: TV-L1 (OpenCV and a PyTorch port), DIS, Farneback, and the .kflow store. See docs/flow.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(
    __name__,
    FlowFile="kinetics.corpus.flowfile",
    dequantise="kinetics.corpus.flowfile",
))
