"""Inflated Inception-v1 (I3D; Carreira & Zisserman 2017, section 2.2, figure 3) and its two-stream fusion.

Stable API (the training, evaluation and transfer code builds on it)::

    model = I3D(400, in_channels=3, dropout=0.5, temporal_padding="zeros")
    model = I3D.from_pretrained("i3d_inception.deepmind_rgb_imagenet")   # or a local .pt/.pth path
    model.classes                  # ("abseiling", ...): what each logit means (None when unknown)
    model = I3D.from_2d(googlenet_state_dict)                             # ImageNet inflation (section 2.3)
    model.replace_logits(101)                                             # new classifier for transfer

    model(x)                       # [B, classes]      logits averaged over time
    model.per_time_logits(x)       # [B, classes, T']  T' = ceil(T / 8) - 1 at 224x224 (1 when T <= 8)
    model.embed(x)                 # [B, 1024]         pooled Mixed_5c (transfer, FVD-style metrics)
    model.classify(embedding)      # [B, classes]      the logits layer alone; classify(embed(x)) == model(x) in eval
    model.forward_features(x, end_point="Mixed_4f")   # [B, C, t, h, w] at any name in END_POINTS

``x`` is [B, C, T, H, W]: RGB (C=3) or flow (C=2) in [-1, 1]. ``dropout`` is the probability of
*dropping* (TF and pytorch-i3d take a keep probability; only 0.5 makes them agree).

Input sizes: every conv and max-pool pads TF-'SAME' for the size it is given
(:mod:`kinetics.models.padding`), so any T, H and W work. The final average pool is 2 frames by
the *whole* feature map (VALID): at 224x224 that is DeepMind's 2x7x7; at other sizes it is the
global spatial average, so the output is always [B, classes] (pytorch-i3d keeps a 7x7 window and
returns [B, 400, T', 2, 2] at 256x256 without a word). A clip of 8 frames or fewer, which leaves a
single frame after Mixed_5c, is pooled over that frame instead of crashing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kinetics.models.architecture import EMBEDDING_CHANNELS, END_POINTS, Layer, forward_to, layer_inputs
from kinetics.models.checkpoints import open_checkpoint
from kinetics.models.inflate import inflate_state_dict
from kinetics.models.padding import (
    TemporalPadding,
    check_temporal_padding,
    conv_same,
    max_pool_same,
)
from kinetics.models.ports import strip_module_prefix
from kinetics.models.registry import CheckpointSpec

#: TF/Sonnet's BatchNorm epsilon; PyTorch's 1e-5 changes the logits by about 1% at inference.
BN_EPS = 1e-3
#: PyTorch momentum = 1 - TF decay. DeepMind's 0.999 (momentum 0.001) suits 100k+ steps at batch 384;
#: fine-tuning runs are far shorter, so we take pytorch-i3d's 0.01.
BN_MOMENTUM = 0.01

# ----------------------------------------------------------------------------------------- blocks


class Unit3D(nn.Module):
    """Conv3d (no bias) -> BatchNorm (eps 1e-3) -> ReLU, padded TF-'SAME' for each input."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1)
    ):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride=stride, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.temporal_padding: TemporalPadding = "zeros"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv_same(x, self.conv.weight, None, stride=self.conv.stride, temporal_padding=self.temporal_padding)
        return F.relu(self.bn(x), inplace=True)


class MaxPool3dSame(nn.Module):
    """Max-pool with TF 'SAME' padding (pad cells ignored)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_same(x, kernel=self.kernel, stride=self.stride)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding=SAME"


class Mixed(nn.Module):
    """Inception block: 1x1 | 1x1-3x3 | 1x1-3x3 | maxpool-1x1, concatenated in that order.

    Attribute names follow pytorch-i3d (b3a is the pool and has no weights) so that each maps
    1:1 onto DeepMind's Branch_k/Conv3d_0x names.
    """

    def __init__(self, in_channels: int, c0: int, c1a: int, c1b: int, c2a: int, c2b: int, c3: int):
        super().__init__()
        self.b0 = Unit3D(in_channels, c0, kernel=(1, 1, 1))
        self.b1a = Unit3D(in_channels, c1a, kernel=(1, 1, 1))
        self.b1b = Unit3D(c1a, c1b, kernel=(3, 3, 3))
        self.b2a = Unit3D(in_channels, c2a, kernel=(1, 1, 1))
        self.b2b = Unit3D(c2a, c2b, kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, c3, kernel=(1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))]
        return torch.cat(branches, dim=1)


# ------------------------------------------------------------------------------------ architecture


def _end_point_module(layer: Layer, in_channels: int) -> nn.Module:
    """One layer of :data:`kinetics.models.architecture.LAYERS` as a 3D module."""
    if layer.kind == "unit":
        return Unit3D(in_channels, layer.out_channels, kernel=layer.kernel, stride=layer.stride)
    if layer.kind == "max_pool":
        return MaxPool3dSame(layer.kernel, layer.stride)
    return Mixed(*layer.channels)


def _init_conv(conv: nn.Conv3d) -> None:
    """Sonnet's default: truncated normal, std 1/sqrt(fan_in), cut at 2 std (redrawn, not clipped).

    Written out because torch's trunc_normal_ takes seconds on I3D's 12M weights.
    """
    with torch.no_grad():
        weight = conv.weight.normal_()
        if not weight.is_meta:
            flat = weight.view(-1)
            redraw = (flat.abs() > 2).nonzero().squeeze(1)
            while redraw.numel():
                flat[redraw] = torch.randn(redraw.numel(), dtype=flat.dtype, device=flat.device)
                redraw = redraw[flat[redraw].abs() > 2]
        weight.mul_(1.0 / math.sqrt(weight[0].numel()))
        if conv.bias is not None:
            conv.bias.zero_()


# ------------------------------------------------------------------------------------------ model


class I3D(nn.Module):
    """Inflated Inception-v1 for RGB (``in_channels=3``) or flow (2) clips; see the module docstring."""

    def __init__(
        self,
        num_classes: int = 400,
        *,
        in_channels: int = 3,
        dropout: float = 0.5,
        temporal_padding: TemporalPadding = "zeros",
    ):
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"need num_classes >= 1 and in_channels >= 1, got {num_classes=}, {in_channels=}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout is the probability of dropping, in [0, 1): got {dropout=}")
        self.in_channels = in_channels
        #: names of the logits, in order: set by from_pretrained from the registry (None: unknown)
        self.classes: tuple[str, ...] | None = None
        for layer, channels in layer_inputs(in_channels):
            self.add_module(layer.name, _end_point_module(layer, channels))
        self.dropout = nn.Dropout(dropout)
        self.logits = nn.Conv3d(EMBEDDING_CHANNELS, num_classes, kernel_size=1, bias=True)
        self.temporal_padding = temporal_padding
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                _init_conv(module)

    # -- constructors

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | CheckpointSpec,
        *,
        cache_dir: str | os.PathLike | None = None,
        base_url: str | None = None,
        dropout: float = 0.5,
        temporal_padding: TemporalPadding = "zeros",
    ) -> I3D:
        """A registered checkpoint (``kinetics.models.registry``), downloaded and cached, or a local file; in eval mode.

        Files of either PyTorch port and our own are recognised by their key names; any missing,
        unexpected or mis-shaped tensor raises ``CheckpointError`` naming all of them.
        ``base_url`` replaces the registered URL's directory (a mirror). ``model.classes`` is the
        registered checkpoint's class list (``kinetics.models.classes``), or the ``classes`` a
        local file lists beside its ``state_dict``; None when neither says.
        """
        checkpoint = open_checkpoint(name_or_path, cache_dir=cache_dir, base_url=base_url)
        with torch.device("meta"):  # every tensor comes from the file: skip the random initialisation
            model = cls(
                checkpoint.num_classes, in_channels=checkpoint.in_channels,
                dropout=dropout, temporal_padding=temporal_padding,
            )
        model.load_state_dict(checkpoint.converted(template=model.state_dict()), assign=True)
        model.classes = checkpoint.classes
        return model.eval()

    @classmethod
    def from_2d(
        cls,
        state_dict: Mapping[str, torch.Tensor],
        *,
        in_channels: int = 3,
        num_classes: int | None = None,
        dropout: float = 0.5,
        temporal_padding: TemporalPadding = "zeros",
    ) -> I3D:
        """Inflate a 2D Inception-v1 state dict in torchvision's GoogLeNet naming (paper section 2.3).

        ``num_classes=None`` inflates the 2D classifier (``fc``); another count gets a fresh logits
        layer. See :mod:`kinetics.models.inflate` for flow (``in_channels=2``).
        """
        state_dict = strip_module_prefix(state_dict)
        model = cls(
            num_classes if num_classes is not None else _fc_classes(state_dict),
            in_channels=in_channels, dropout=dropout, temporal_padding=temporal_padding,
        )
        model.load_state_dict(inflate_state_dict(state_dict, template=model.state_dict()))
        return model

    # -- properties

    @property
    def num_classes(self) -> int:
        return self.logits.out_channels

    @property
    def temporal_padding(self) -> TemporalPadding:
        return self._temporal_padding

    @temporal_padding.setter
    def temporal_padding(self, value: TemporalPadding) -> None:
        self._temporal_padding = check_temporal_padding(value)
        for module in self.modules():
            if isinstance(module, Unit3D):
                module.temporal_padding = value

    def replace_logits(self, num_classes: int) -> None:
        """Swap the classifier for a freshly initialised one with ``num_classes`` outputs (transfer)."""
        old = self.logits
        self.classes = None
        self.logits = nn.Conv3d(EMBEDDING_CHANNELS, num_classes, kernel_size=1, bias=True).to(
            device=old.weight.device, dtype=old.weight.dtype
        )
        _init_conv(self.logits)

    # -- forward passes

    def forward_features(self, x: torch.Tensor, *, end_point: str = "Mixed_5c") -> torch.Tensor:
        """The activation [B, C, t, h, w] at ``end_point``; layers after it are not run."""
        self._check_input(x)
        return forward_to(self, x, end_points=END_POINTS, end_point=end_point)

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Mixed_5c averaged over 2-frame windows (stride 1) and the whole map: [B, 1024, T', 1, 1]."""
        features = self.forward_features(x, end_point="Mixed_5c")
        frames, height, width = features.shape[2:]
        return F.avg_pool3d(features, kernel_size=(min(2, frames), height, width), stride=1)

    def per_time_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores per output time step, [B, classes, T'] (the net is convolutional in time)."""
        return self.logits(self.dropout(self._pooled(x))).flatten(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [B, classes], averaged over time as DeepMind's 'Logits' end point is."""
        return self.per_time_logits(x).mean(dim=2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 1024-d pooled embedding [B, 1024] for transfer and FVD-style metrics (no dropout)."""
        return self._pooled(x).flatten(2).mean(dim=2)

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        """Logits [B, classes] of pooled embeddings [B, 1024]; in eval ``classify(embed(x)) == forward(x)``."""
        return self.logits(self.dropout(embedding)[:, :, None, None, None]).flatten(1)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"I3D expects [batch, {self.in_channels} channels, time, height, width]; got {tuple(x.shape)}"
            )


def _fc_classes(state_dict: Mapping[str, torch.Tensor]) -> int:
    fc = state_dict.get("fc.weight")
    if fc is None:
        raise ValueError("the 2D state dict has no 'fc.weight': pass num_classes= for a fresh logits layer")
    return fc.shape[0]


class TwoStreamI3D(nn.Module):
    """An RGB and a flow I3D whose logits are added (DeepMind's evaluation; softmax comes after)."""

    def __init__(self, rgb: I3D, flow: I3D):
        super().__init__()
        if rgb.num_classes != flow.num_classes:
            raise ValueError(f"streams disagree on classes: rgb {rgb.num_classes}, flow {flow.num_classes}")
        if None not in (rgb.classes, flow.classes) and rgb.classes != flow.classes:
            raise ValueError("streams disagree on class names: their checkpoints use different class lists")
        self.rgb, self.flow = rgb, flow

    @classmethod
    def from_pretrained(
        cls,
        rgb: str | os.PathLike | CheckpointSpec = "i3d_inception.deepmind_rgb_imagenet",
        flow: str | os.PathLike | CheckpointSpec = "i3d_inception.deepmind_flow_imagenet",
        *,
        cache_dir: str | os.PathLike | None = None,
        base_url: str | None = None,
    ) -> TwoStreamI3D:
        return cls(
            I3D.from_pretrained(rgb, cache_dir=cache_dir, base_url=base_url),
            I3D.from_pretrained(flow, cache_dir=cache_dir, base_url=base_url),
        )

    @property
    def num_classes(self) -> int:
        return self.rgb.num_classes

    @property
    def classes(self) -> tuple[str, ...] | None:
        return self.rgb.classes if self.rgb.classes is not None else self.flow.classes

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        """Summed logits [B, classes] of the RGB clip [B, 3, T, H, W] and the flow clip [B, 2, T, H, W]."""
        return self.rgb(rgb) + self.flow(flow)
