"""TF 'SAME' padding: the pads the notes measured, output sizes, and values against an explicit loop."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from kinetics.models.padding import (
    check_temporal_padding,
    conv_same,
    max_pool_same,
    same_padding,
)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [
        (224, 7, 2, (2, 3)),  # Conv3d_1a in space
        (64, 7, 2, (2, 3)),  # Conv3d_1a in time, 64 frames
        (112, 3, 2, (0, 1)),  # MaxPool3d_2a
        (56, 3, 2, (0, 1)),  # MaxPool3d_3a
        (56, 3, 1, (1, 1)),  # every stride-1 3x3x3
        (32, 3, 2, (0, 1)),  # MaxPool3d_4a in time
        (28, 3, 2, (0, 1)),
        (16, 2, 2, (0, 0)),  # MaxPool3d_5a
        (14, 2, 2, (0, 0)),
        (125, 3, 2, (1, 1)),  # 250 frames into MaxPool3d_4a
        (63, 2, 2, (0, 1)),  # 250 frames into MaxPool3d_5a
        (5, 1, 1, (0, 0)),
    ],
)
def test_same_padding_matches_tensorflow(size, kernel, stride, pads):
    assert same_padding(size, kernel=kernel, stride=stride) == pads


def test_same_padding_gives_ceil_output_and_puts_the_odd_cell_last():
    for size, kernel, stride in itertools.product(range(1, 20), range(1, 8), range(1, 4)):
        front, back = same_padding(size, kernel=kernel, stride=stride)
        assert (size + front + back - kernel) // stride + 1 == math.ceil(size / stride)
        assert back - front in (0, 1)


def _explicit_conv2d(x: torch.Tensor, w: torch.Tensor, stride: int) -> torch.Tensor:
    """Single-channel TF 'SAME' conv written out cell by cell: out[i, j] = sum x[i*s - front + a, ...] w[a, b]."""
    height, width = x.shape
    k = w.shape[0]
    (top, _), (left, _) = same_padding(height, kernel=k, stride=stride), same_padding(width, kernel=k, stride=stride)
    out = torch.zeros(math.ceil(height / stride), math.ceil(width / stride), dtype=x.dtype)
    for i, j, a, b in itertools.product(range(out.shape[0]), range(out.shape[1]), range(k), range(k)):
        row, col = i * stride - top + a, j * stride - left + b
        if 0 <= row < height and 0 <= col < width:
            out[i, j] += x[row, col] * w[a, b]
    return out


@pytest.mark.parametrize(("height", "width", "kernel", "stride"), [(5, 6, 3, 2), (7, 7, 7, 2), (6, 5, 2, 2), (4, 4, 3, 1)])
def test_conv_same_matches_an_explicit_loop(height, width, kernel, stride):
    generator = torch.Generator().manual_seed(height * 100 + kernel)
    x = torch.randn(height, width, dtype=torch.float64, generator=generator)
    w = torch.randn(kernel, kernel, dtype=torch.float64, generator=generator)
    got = conv_same(x[None, None], w[None, None], None, stride=(stride, stride))[0, 0]
    torch.testing.assert_close(got, _explicit_conv2d(x, w, stride))


def test_max_pool_same_never_picks_a_pad_cell():
    x = -1.0 - torch.rand(1, 1, 5, 6)  # all negative: a zero pad cell would win
    got = max_pool_same(x, kernel=(3, 3), stride=(2, 2))
    assert got.shape == (1, 1, 3, 3)
    assert (got < 0).all()
    # pads: rows (1, 1), cols (0, 1); the bottom-right window is rows 3..5 and cols 4..6, of which 3..4 x 4..5 exist
    assert got[0, 0, 2, 2] == x[0, 0, 3:5, 4:6].max()
    assert got[0, 0, 0, 0] == x[0, 0, 0:2, 0:3].max()


def test_replicate_pads_time_with_edge_frames_and_space_with_zeros():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 4, 5, 5, generator=generator)
    w = torch.randn(3, 2, 3, 3, 3, generator=generator)
    got = conv_same(x, w, None, stride=(1, 1, 1), temporal_padding="replicate")
    edged = torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2)  # time padded by hand
    expected = torch.nn.functional.conv3d(edged, w, padding=(0, 1, 1))
    torch.testing.assert_close(got, expected)
    zeros = conv_same(x, w, None, stride=(1, 1, 1), temporal_padding="zeros")
    torch.testing.assert_close(zeros[:, :, 1:-1], got[:, :, 1:-1])
    assert not torch.allclose(zeros[:, :, 0], got[:, :, 0])


def test_unknown_temporal_padding_is_named():
    with pytest.raises(ValueError, match="'reflect'.*'zeros', 'replicate'"):
        check_temporal_padding("reflect")
