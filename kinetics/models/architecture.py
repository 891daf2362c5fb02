"""Inception-v1's layer table, written once: I3D is built from it, and InceptionV1 from it with time removed.

Each row names the layer twice, as DeepMind's I3D end point and as torchvision's GoogLeNet
attribute, so the 2D network is the exact deflation of the 3D one by construction and inflation
maps one onto the other by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from kinetics.modality import MODALITIES, Modality  # noqa: F401  (re-exported: the model side names it here)

LayerKind = Literal["unit", "max_pool", "mixed"]
#: Input channels of each stream: RGB frames, or optical flow (x and y).
IN_CHANNELS: dict[str, int] = {"rgb": 3, "flow": 2}


@dataclass(frozen=True)
class Layer:
    """One end point. Kernel and stride are (t, h, w); ``channels`` is (out,) for a unit and, for a
    mixed block, (in, branch 0, branch 1 1x1 -> 3x3, branch 2 1x1 -> 3x3, branch 3 pool -> 1x1)."""

    name: str
    name_2d: str
    kind: LayerKind
    kernel: tuple[int, int, int] = (1, 1, 1)
    stride: tuple[int, int, int] = (1, 1, 1)
    channels: tuple[int, ...] = ()

    @property
    def out_channels(self) -> int:
        if self.kind == "mixed":
            _, c0, _, c1b, _, c2b, c3 = self.channels
            return c0 + c1b + c2b + c3
        return self.channels[0]


def _mixed(name: str, name_2d: str, *channels: int) -> Layer:
    return Layer(name, name_2d, "mixed", channels=channels)


LAYERS: tuple[Layer, ...] = (
    Layer("Conv3d_1a_7x7", "conv1", "unit", (7, 7, 7), (2, 2, 2), (64,)),
    Layer("MaxPool3d_2a_3x3", "maxpool1", "max_pool", (1, 3, 3), (1, 2, 2)),
    Layer("Conv3d_2b_1x1", "conv2", "unit", channels=(64,)),
    Layer("Conv3d_2c_3x3", "conv3", "unit", (3, 3, 3), channels=(192,)),
    Layer("MaxPool3d_3a_3x3", "maxpool2", "max_pool", (1, 3, 3), (1, 2, 2)),
    _mixed("Mixed_3b", "inception3a", 192, 64, 96, 128, 16, 32, 32),
    _mixed("Mixed_3c", "inception3b", 256, 128, 128, 192, 32, 96, 64),
    Layer("MaxPool3d_4a_3x3", "maxpool3", "max_pool", (3, 3, 3), (2, 2, 2)),
    _mixed("Mixed_4b", "inception4a", 480, 192, 96, 208, 16, 48, 64),
    _mixed("Mixed_4c", "inception4b", 512, 160, 112, 224, 24, 64, 64),
    _mixed("Mixed_4d", "inception4c", 512, 128, 128, 256, 24, 64, 64),
    _mixed("Mixed_4e", "inception4d", 512, 112, 144, 288, 32, 64, 64),
    _mixed("Mixed_4f", "inception4e", 528, 256, 160, 320, 32, 128, 128),
    Layer("MaxPool3d_5a_2x2", "maxpool4", "max_pool", (2, 2, 2), (2, 2, 2)),
    _mixed("Mixed_5b", "inception5a", 832, 256, 160, 320, 32, 128, 128),
    _mixed("Mixed_5c", "inception5b", 832, 384, 192, 384, 48, 128, 128),
)

#: I3D end points accepted by ``I3D.forward_features``, in network order.
END_POINTS: tuple[str, ...] = tuple(layer.name for layer in LAYERS)
#: I3D end point -> the same layer of InceptionV1 (time removed).
END_POINTS_2D: dict[str, str] = {layer.name: layer.name_2d for layer in LAYERS}
EMBEDDING_CHANNELS = LAYERS[-1].out_channels


def layer_inputs(in_channels: int) -> Iterator[tuple[Layer, int]]:
    """Each layer of :data:`LAYERS` with the number of channels it receives (a network's input has ``in_channels``)."""
    channels = in_channels
    for layer in LAYERS:
        yield layer, channels
        if layer.kind != "max_pool":
            channels = layer.out_channels


def forward_to(network: Any, x: Any, *, end_points: tuple[str, ...], end_point: str) -> Any:
    """Run ``network``'s layers named ``end_points`` in order on ``x`` and return the activation at ``end_point``."""
    if end_point not in end_points:
        raise ValueError(f"end_point={end_point!r} is not one of {', '.join(end_points)}")
    for name in end_points:
        x = getattr(network, name)(x)
        if name == end_point:
            break
    return x
