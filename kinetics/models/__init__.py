"""The I3D model: architecture (i3d), its 2D counterpart (inception2d), inflation (inflate),
TF-'SAME' padding (padding), checkpoint names of the PyTorch ports (ports), the checkpoint
registry (registry) and fetching/loading (checkpoints). See docs/i3d.md."""

from kinetics import lazy_exports, subpackage_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, subpackage_exports(__name__))
