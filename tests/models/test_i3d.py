"""I3D's architecture: parameter counts, layer settings, output shapes, end points and the API contract."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kinetics.models.i3d import END_POINTS, I3D, TwoStreamI3D


def _meta(**options) -> I3D:
    """Shapes without compute or memory: a full 250x224x224 forward takes a fraction of a second."""
    with torch.device("meta"):
        return I3D(**options)


@pytest.fixture(scope="module")
def meta_rgb() -> I3D:
    return _meta()


@pytest.fixture(scope="module")
def small_streams() -> tuple[I3D, I3D]:
    """A real RGB and flow I3D with 4 classes (built once: initialising 12M weights takes a second)."""
    torch.manual_seed(0)
    return I3D(4, in_channels=3).eval(), I3D(4, in_channels=2).eval()


@pytest.mark.parametrize(
    ("in_channels", "with_gamma", "without_gamma"), [(3, 12_697_264, 12_689_984), (2, 12_675_312, 12_668_032)]
)
def test_parameter_counts_match_the_architecture(in_channels, with_gamma, without_gamma):
    model = _meta(num_classes=400, in_channels=in_channels)
    total = sum(p.numel() for p in model.parameters())
    gammas = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.BatchNorm3d))
    assert total == with_gamma
    assert total - gammas == without_gamma  # TF has no BatchNorm scale
    assert sum(p.numel() for p in model.logits.parameters()) == 410_000


def test_layers_are_bias_free_convs_with_tf_batchnorm_except_the_logits(meta_rgb):
    model = meta_rgb
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
    assert len(convs) == 58 and len(norms) == 57
    assert [c for c in convs if c.bias is not None] == [model.logits]
    assert {n.eps for n in norms} == {1e-3}
    assert len(model.state_dict()) == 344  # 57 x (conv + 5 BatchNorm entries) + logits weight and bias
    mixed = model.Mixed_3b
    assert [mixed.b0.conv.kernel_size, mixed.b1b.conv.kernel_size, mixed.b2b.conv.kernel_size] == [
        (1, 1, 1), (3, 3, 3), (3, 3, 3)
    ]
    assert model.Conv3d_1a_7x7.conv.stride == (2, 2, 2)


@pytest.mark.parametrize("frames", [9, 20, 64, 79, 250])
def test_per_time_length_is_ceil_t_over_8_minus_1_at_224(meta_rgb, frames):
    x = torch.empty(2, 3, frames, 224, 224, device="meta")
    model = meta_rgb
    assert model.per_time_logits(x).shape == (2, 400, math.ceil(frames / 8) - 1)
    assert model(x).shape == (2, 400)


def test_end_point_shapes_at_64x224x224(meta_rgb):
    expected = {
        "Conv3d_1a_7x7": (64, 32, 112, 112), "MaxPool3d_2a_3x3": (64, 32, 56, 56), "Conv3d_2c_3x3": (192, 32, 56, 56),
        "MaxPool3d_3a_3x3": (192, 32, 28, 28), "Mixed_3b": (256, 32, 28, 28), "Mixed_3c": (480, 32, 28, 28),
        "MaxPool3d_4a_3x3": (480, 16, 14, 14), "Mixed_4b": (512, 16, 14, 14), "Mixed_4e": (528, 16, 14, 14),
        "Mixed_4f": (832, 16, 14, 14), "MaxPool3d_5a_2x2": (832, 8, 7, 7), "Mixed_5c": (1024, 8, 7, 7),
    }
    model = _meta()
    seen = {}

    def record(name):
        def hook(module, args, out) -> None:
            seen[name] = out.shape
        return hook

    for name in END_POINTS:
        getattr(model, name).register_forward_hook(record(name))
    final = model.forward_features(torch.empty(1, 3, 64, 224, 224, device="meta"), end_point="Mixed_5c")
    assert {name: tuple(seen[name][1:]) for name in expected} == expected
    assert final.shape == seen["Mixed_5c"]


@pytest.mark.parametrize(("frames", "size"), [(16, 256), (8, 224), (3, 112), (64, 320)])
def test_other_sizes_still_give_one_score_per_class(frames, size):
    model = _meta(num_classes=7, in_channels=2)
    x = torch.empty(1, 2, frames, size, size, device="meta")
    assert model(x).shape == (1, 7)
    assert model.embed(x).shape == (1, 1024)


def test_small_clip_forward_embed_and_classify_agree(small_streams):
    model = small_streams[0]
    x = torch.rand(2, 3, 16, 48, 48, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        logits, per_time, embedding = model(x), model.per_time_logits(x), model.embed(x)
    assert logits.shape == (2, 4) and embedding.shape == (2, 1024)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(per_time.mean(dim=2), logits)
    torch.testing.assert_close(model.classify(embedding), logits, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(logits[0], logits[1])  # the two clips are told apart


def test_forward_features_stops_at_the_end_point():
    model = _meta()
    ran = []
    for name in END_POINTS:
        getattr(model, name).register_forward_hook(lambda module, args, out, name=name: ran.append(name))
    model.forward_features(torch.empty(1, 3, 16, 64, 64, device="meta"), end_point="Mixed_3b")
    assert ran == list(END_POINTS[: END_POINTS.index("Mixed_3b") + 1])


def test_bad_arguments_are_named(meta_rgb):
    model = meta_rgb
    with pytest.raises(ValueError, match="'Mixed_9z'"):
        model.forward_features(torch.empty(1, 3, 9, 32, 32, device="meta"), end_point="Mixed_9z")
    with pytest.raises(ValueError, match=r"3 channels.*\(1, 2, 9, 32, 32\)"):
        model(torch.empty(1, 2, 9, 32, 32, device="meta"))
    with pytest.raises(ValueError, match="'circular'"):
        _meta(temporal_padding="circular")
    with pytest.raises(ValueError, match="dropout=1.5"):
        _meta(dropout=1.5)


def test_temporal_padding_reaches_every_unit():
    model = _meta(temporal_padding="replicate")
    units = [m for m in model.modules() if hasattr(m, "conv") and isinstance(m.conv, nn.Conv3d)]
    assert len(units) == 57 and {u.temporal_padding for u in units} == {"replicate"}
    model.temporal_padding = "zeros"
    assert {u.temporal_padding for u in units} == {"zeros"}


def test_dropout_is_the_probability_of_dropping():
    assert _meta(dropout=0.3).dropout.p == 0.3


def test_replace_logits_keeps_the_backbone():
    model = _meta(num_classes=400)
    backbone, old = model.Mixed_5c.b0.conv.weight, model.logits
    model.replace_logits(101)
    assert model.num_classes == 101 and model.logits.weight.shape == (101, 1024, 1, 1, 1)
    assert model.logits is not old and model.logits.bias is not None and model.logits.weight.is_meta
    assert model.Mixed_5c.b0.conv.weight is backbone


def test_two_stream_adds_the_logits_of_both_streams(small_streams):
    rgb, flow = small_streams
    both = TwoStreamI3D(rgb, flow).eval()
    clip, field = torch.rand(1, 3, 9, 32, 32), torch.rand(1, 2, 9, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(both(clip, field), rgb(clip) + flow(field))
    with pytest.raises(ValueError, match="rgb 4, flow 5"):
        TwoStreamI3D(rgb, _meta(num_classes=5, in_channels=2))


@pytest.mark.gpu
def test_cuda_forward_matches_cpu(small_streams):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model = small_streams[0]
    x = torch.rand(2, 3, 16, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = model(x)
        on_gpu = model.to("cuda")
        try:
            torch.testing.assert_close(on_gpu(x.cuda()).cpu(), expected, rtol=1e-3, atol=1e-3)
            with torch.autocast("cuda", dtype=torch.float16):
                torch.testing.assert_close(on_gpu(x.cuda()).float().cpu(), expected, rtol=5e-2, atol=5e-2)
        finally:
            model.to("cpu")
