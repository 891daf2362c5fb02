"""Optical flow: TV-L1 (OpenCV's, a numba port that gives its flow at ~1/3 of its CPU time, a PyTorch port for GPUs), DIS, Farneback. See docs/flow.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(
    __name__,
    FlowFile="kinetics.corpus.flowfile",
    dequantise="kinetics.corpus.flowfile",
    flow_preview="kinetics.flow.preview",
    preview_frames="kinetics.flow.preview",
    flow_to_colour="kinetics.flow.colour_wheel",
))
