"""A 2D Inception-v1 with BatchNorm: the image network that I3D is inflated from.

Parameter names are torchvision's GoogLeNet (``conv1.conv.weight``, ``conv1.bn.*``,
``inception3a.branch2.1.conv.weight``, ``fc.weight``; no auxiliary heads), so its ImageNet state
dict loads here as it is and :func:`kinetics.models.inflate.inflate_state_dict` reads the same
names. Like torchvision's, branch 3 is a 3x3 (the original paper had 5x5), which is also I3D's,
and BatchNorm's eps is 1e-3.

The layers are the exact deflation of :class:`kinetics.models.i3d.I3D`: TF-'SAME' padding and the
same pools with their time axis removed, and a global average pool. That differs from
torchvision's forward, which pads conv1 symmetrically and pools with ``ceil_mode``, so outputs on
the same weights are close but not equal; the point of this class is that on a boring video
(one image repeated) the inflated I3D reproduces it exactly.

torchvision's pretrained GoogLeNet (ported from TensorFlow) expects inputs scaled to [-1, 1]
(its ``transform_input`` maps ImageNet-normalised inputs back there), the same range as I3D's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kinetics.models.architecture import EMBEDDING_CHANNELS, LAYERS, Layer, forward_to, layer_inputs
from kinetics.models.padding import conv_same, max_pool_same

BN_EPS = 1e-3


class BasicConv2d(nn.Module):
    """Conv2d (no bias) -> BatchNorm (eps 1e-3) -> ReLU with TF-'SAME' padding."""

    def __init__(self, in_channels: int, out_channels: int, *, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(conv_same(x, self.conv.weight, None, stride=self.conv.stride)), inplace=True)


class MaxPool2dSame(nn.Module):
    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel, self.stride = (kernel, kernel), (stride, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_same(x, kernel=self.kernel, stride=self.stride)


class Inception(nn.Module):
    """branch1 1x1 | branch2 1x1-3x3 | branch3 1x1-3x3 | branch4 maxpool-1x1, concatenated."""

    def __init__(self, in_channels: int, c1: int, c2a: int, c2b: int, c3a: int, c3b: int, c4: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, c1, kernel=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, c2a, kernel=1), BasicConv2d(c2a, c2b, kernel=3))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, c3a, kernel=1), BasicConv2d(c3a, c3b, kernel=3))
        self.branch4 = nn.Sequential(MaxPool2dSame(3, 1), BasicConv2d(in_channels, c4, kernel=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


def _end_point_module(layer: Layer, in_channels: int) -> nn.Module:
    """One layer of :data:`kinetics.models.architecture.LAYERS` with time removed (square kernels and strides)."""
    (_, kernel, _), (_, stride, _) = layer.kernel, layer.stride
    if layer.kind == "unit":
        return BasicConv2d(in_channels, layer.out_channels, kernel=kernel, stride=stride)
    if layer.kind == "max_pool":
        return MaxPool2dSame(kernel, stride)
    return Inception(*layer.channels)


END_POINTS: tuple[str, ...] = tuple(layer.name_2d for layer in LAYERS)


class InceptionV1(nn.Module):
    """GoogLeNet with BatchNorm in torchvision's naming; images [B, C, H, W] in [-1, 1]."""

    def __init__(self, num_classes: int = 1000, *, in_channels: int = 3, dropout: float = 0.2):
        super().__init__()
        for layer, channels in layer_inputs(in_channels):
            self.add_module(layer.name_2d, _end_point_module(layer, channels))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(EMBEDDING_CHANNELS, num_classes)

    def forward_features(self, x: torch.Tensor, *, end_point: str = "inception5b") -> torch.Tensor:
        """The activation [B, C, h, w] at ``end_point`` (a name in ``END_POINTS``)."""
        return forward_to(self, x, end_points=END_POINTS, end_point=end_point)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of inception5b, [B, 1024]."""
        return self.forward_features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.embed(x)))
