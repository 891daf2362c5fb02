"""Inflation and the boring-video fixed point (paper sections 2.3-2.4), tested exactly.

A video made of one image repeated must give, after inflation, the 2D network's activations on
that image: at every time step with replicate temporal padding, and at the time steps the zero
padding cannot reach with the original padding.
"""

from __future__ import annotations

import pytest
import torch

from kinetics.errors import CheckpointError
from kinetics.models.architecture import END_POINTS_2D
from kinetics.models.i3d import END_POINTS, I3D, Unit3D
from kinetics.models.inception2d import BasicConv2d, InceptionV1
from kinetics.models.inflate import inflate_weight, key_2d
from kinetics.models.padding import conv_same, max_pool_same, same_padding

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize(("time_kernel", "time_stride", "frames"), [(7, 2, 16), (3, 1, 10), (2, 2, 9), (1, 1, 5)])
def test_inflated_conv_reproduces_the_2d_conv_at_every_frame(boring_video, time_kernel, time_stride, frames):
    generator = torch.Generator().manual_seed(time_kernel)
    image = torch.randn(1, 3, 11, 12, generator=generator)
    weight_2d = torch.randn(4, 3, 3, 3, generator=generator)
    expected = conv_same(image, weight_2d, None, stride=(2, 2))
    weight_3d = inflate_weight(weight_2d, time_size=time_kernel)
    video = boring_video(image, frames)
    replicate = conv_same(video, weight_3d, None, stride=(time_stride, 2, 2), temporal_padding="replicate")
    zeros = conv_same(video, weight_3d, None, stride=(time_stride, 2, 2), temporal_padding="zeros")
    front, _ = same_padding(frames, kernel=time_kernel, stride=time_stride)
    for t in range(replicate.shape[2]):
        torch.testing.assert_close(replicate[:, :, t], expected, **TOLERANCE)
        start = t * time_stride - front
        if start >= 0 and start + time_kernel <= frames:
            torch.testing.assert_close(zeros[:, :, t], expected, **TOLERANCE)
        else:  # a window reaching into the zero padding sees fewer copies of the image
            assert _relative_error(zeros[:, :, t], expected) > 1e-3


def test_inflated_unit_reuses_batchnorm_and_bias_is_not_divided(boring_video, randomise_batchnorm):
    torch.manual_seed(0)
    unit_2d = randomise_batchnorm(BasicConv2d(3, 5, kernel=3)).eval()
    unit_3d = Unit3D(3, 5, kernel=(3, 3, 3)).eval()
    state = dict(unit_2d.state_dict())
    state["conv.weight"] = inflate_weight(state["conv.weight"], time_size=3)
    unit_3d.load_state_dict(state)
    unit_3d.temporal_padding = "replicate"
    image = torch.randn(2, 3, 9, 9)
    out = unit_3d(boring_video(image, 4))
    for t in range(4):
        torch.testing.assert_close(out[:, :, t], unit_2d(image), **TOLERANCE)
    # a 1x1x1 conv with a bias (the logits layer) needs the bias added once, not divided
    weight, bias = torch.randn(6, 5, 1, 1), torch.randn(6)
    logits_3d = torch.nn.functional.conv3d(out, inflate_weight(weight, time_size=1), bias)
    torch.testing.assert_close(logits_3d[:, :, 2], torch.nn.functional.conv2d(unit_2d(image), weight, bias), **TOLERANCE)


def test_max_pool_over_a_boring_video_is_the_2d_pool_even_with_time_padding(boring_video):
    image = torch.rand(1, 4, 10, 10)  # post-ReLU values
    pooled = max_pool_same(boring_video(image, 7), kernel=(3, 3, 3), stride=(2, 2, 2))
    for t in range(pooled.shape[2]):
        torch.testing.assert_close(pooled[:, :, t], max_pool_same(image, kernel=(3, 3), stride=(2, 2)))


@pytest.fixture(scope="module")
def networks(randomise_batchnorm) -> tuple[InceptionV1, I3D]:
    """A random 2D Inception-v1 with random BatchNorm statistics, and I3D inflated from it."""
    torch.manual_seed(0)
    net_2d = randomise_batchnorm(InceptionV1(num_classes=10)).eval()
    net_3d = I3D.from_2d(net_2d.state_dict(), temporal_padding="replicate").eval()
    return net_2d, net_3d


def test_whole_network_with_replicate_padding_is_exact_at_every_end_point_and_frame(networks, boring_video):
    net_2d, net_3d = networks
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    video = boring_video(image, 9)
    with torch.no_grad():
        for end_point in END_POINTS:
            got = net_3d.forward_features(video, end_point=end_point)
            want = net_2d.forward_features(image, end_point=END_POINTS_2D[end_point])
            for t in range(got.shape[2]):
                torch.testing.assert_close(got[:, :, t], want, **TOLERANCE, msg=f"{end_point} frame {t}")
        torch.testing.assert_close(net_3d.embed(video), net_2d.embed(image), **TOLERANCE)
        torch.testing.assert_close(net_3d(video), net_2d(image), **TOLERANCE)
    assert net_3d.num_classes == 10


def _exact_frames(frames: int, stop: str) -> list[int]:
    """Which output frames of ``stop`` zero time padding cannot reach, by interval arithmetic on the layers."""
    # (kernel, stride, is_max_pool) in time, in network order; a Mixed block reaches one frame each way
    layers = {
        "Conv3d_1a_7x7": [(7, 2, False)], "MaxPool3d_2a_3x3": [(1, 1, True)], "Conv3d_2b_1x1": [(1, 1, False)],
        "Conv3d_2c_3x3": [(3, 1, False)], "MaxPool3d_3a_3x3": [(1, 1, True)], "MaxPool3d_4a_3x3": [(3, 2, True)],
        "MaxPool3d_5a_2x2": [(2, 2, True)],
    }
    size, valid = frames, set(range(frames))
    for name in END_POINTS:
        for kernel, stride, is_pool in layers.get(name, [(3, 1, False)]):
            front, _ = same_padding(size, kernel=kernel, stride=stride)
            out = -(-size // stride)
            windows = [range(t * stride - front, t * stride - front + kernel) for t in range(out)]
            valid = {
                t for t, window in enumerate(windows)
                if all((i in valid) if 0 <= i < size else is_pool for i in window)  # pools ignore pad cells
            }
            size = out
        if name == stop:
            return sorted(valid)
    raise AssertionError(stop)


def test_whole_network_with_zero_padding_is_exact_only_where_padding_cannot_reach(networks, boring_video):
    net_2d, net_3d = networks
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    video = boring_video(image, 32)
    exact = _exact_frames(32, "Mixed_4b")
    assert exact == [3]  # of 8 frames: the receptive field by now spans most of the clip
    net_3d.temporal_padding = "zeros"
    try:
        with torch.no_grad():
            for end_point in ("Conv3d_2c_3x3", "Mixed_3c", "Mixed_4b"):
                got = net_3d.forward_features(video, end_point=end_point)
                want = net_2d.forward_features(image, end_point=END_POINTS_2D[end_point])
                exact = _exact_frames(32, end_point)
                assert exact, end_point
                for t in range(got.shape[2]):
                    if t in exact:
                        torch.testing.assert_close(got[:, :, t], want, **TOLERANCE, msg=f"{end_point} frame {t}")
                    else:
                        assert _relative_error(got[:, :, t], want) > 1e-4, f"{end_point} frame {t}"
    finally:
        net_3d.temporal_padding = "replicate"


def test_names_are_torchvision_googlenet_names():
    names_2d = set(InceptionV1().state_dict())
    with torch.device("meta"):
        names_3d = set(I3D(1000).state_dict())
    assert {key_2d(key) for key in names_3d} == names_2d
    for name in (
        "conv1.conv.weight", "conv1.bn.running_var", "conv3.bn.bias", "inception3a.branch1.conv.weight",
        "inception3a.branch2.0.conv.weight", "inception3a.branch2.1.conv.weight", "inception4e.branch3.1.bn.weight",
        "inception5b.branch4.1.conv.weight", "fc.weight", "fc.bias",
    ):
        assert name in names_2d
    assert key_2d("Mixed_3b.b2b.conv.weight") == "inception3a.branch3.1.conv.weight"
    assert InceptionV1().inception3a.branch3[1].conv.kernel_size == (3, 3)  # torchvision's 3x3, as I3D's
    assert sum(p.numel() for p in InceptionV1().parameters()) == 6_624_904  # torchvision's GoogLeNet, no aux heads


def test_from_2d_options_flow_fresh_logits_and_aux_heads(networks):
    net_2d, _ = networks
    state = dict(net_2d.state_dict())
    state["aux1.fc2.weight"] = torch.zeros(10, 1024)  # torchvision's file has auxiliary heads: skipped
    flow = I3D.from_2d(state, in_channels=2, num_classes=51)
    first_2d = state["conv1.conv.weight"]
    first_3d = flow.Conv3d_1a_7x7.conv.weight
    assert first_3d.shape == (64, 2, 7, 7, 7)
    for channel in range(2):
        for t in range(7):
            torch.testing.assert_close(first_3d[:, channel, t], first_2d.mean(dim=1) / 7)
    assert flow.num_classes == 51
    torch.testing.assert_close(flow.Mixed_4c.b1b.conv.weight[:, :, 1], state["inception4b.branch2.1.conv.weight"] / 3)
    torch.testing.assert_close(flow.Mixed_5c.b3b.bn.running_var, state["inception5b.branch4.1.bn.running_var"])


def test_from_2d_names_bad_keys(networks):
    net_2d, _ = networks
    state = dict(net_2d.state_dict())
    del state["inception4c.branch2.0.bn.running_mean"]
    state["inception9z.branch1.conv.weight"] = torch.zeros(1)
    state["conv2.conv.weight"] = torch.zeros(64, 64, 3, 3)
    with pytest.raises(CheckpointError) as caught:
        I3D.from_2d(state)
    message = str(caught.value)
    for key in ("inception4c.branch2.0.bn.running_mean", "inception9z.branch1.conv.weight", "conv2.conv.weight"):
        assert key in message
