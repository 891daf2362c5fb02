"""Loading: datasets over a corpus or UCF-101/HMDB-51, sampling, transforms, decoding. See docs/loading.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(
    __name__,
    ClipDataset="kinetics.data.clips",
    VideoRecord="kinetics.data.clips",
    SamplingOptions="kinetics.data.sampling",
    SpatialOptions="kinetics.data.transforms",
    read_rgb="kinetics.data.decoding",
    probe_video="kinetics.data.decoding",
    collate="kinetics.data.batching",
    stack_batch="kinetics.data.batching",
))
