"""The flow file: quantisation, lossless and JPEG round trips, window reads, and errors that name the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kinetics.corpus.flowfile import FlowFile, FlowFileError, dequantise, quantise, write_flow_file


def random_flow(fields=6, height=12, width=20, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-25, 25, (fields, height, width, 2)).astype(np.float32)


def test_quantise_follows_the_formula_and_clips_at_the_bound():
    flow = np.array([-30.0, -20.0, -10.0, 0.1, 10.0, 19.9, 20.0, 45.0], dtype=np.float32)
    expected = [int(round((min(max(f, -20), 20) / 20 + 1) * 127.5)) for f in flow.tolist()]
    assert quantise(flow, 20.0).tolist() == expected
    assert quantise(flow, 20.0).dtype == np.uint8
    assert quantise(np.float32([5.0]), 5.0).tolist() == [255]  # the bound is a parameter


def test_dequantise_inverts_quantise_to_half_a_step():
    flow = random_flow()
    back = dequantise(quantise(flow, 20.0)) * 20.0
    clipped = np.clip(flow, -20, 20)
    assert back.dtype == np.float32
    assert np.abs(back - clipped).max() <= 20.0 / 127.5 / 2 + 1e-5
    assert dequantise(np.uint8([0, 255])).tolist() == [-1.0, 1.0]


def test_torch_tensors_quantise_and_dequantise_like_numpy():
    flow = random_flow()
    q = quantise(torch.from_numpy(flow), 20.0)
    assert isinstance(q, torch.Tensor) and q.dtype == torch.uint8
    assert np.array_equal(q.numpy(), quantise(flow, 20.0))
    d = dequantise(q)
    assert isinstance(d, torch.Tensor) and d.dtype == torch.float32
    assert np.allclose(d.numpy(), dequantise(q.numpy()))


def test_lossless_round_trip_and_header(tmp_path):
    flow = random_flow()
    path = tmp_path / "a" / "clip.kflow"
    write_flow_file(path, flow, fps=25.0, method="tvl1", params={"tau": 0.25, "nested": {"x": [1, 2]}})
    with FlowFile.open(path) as f:
        assert (f.num_fields, f.height, f.width) == (6, 12, 20)
        assert (f.fps, f.bound, f.method, f.codec) == (25.0, 20.0, "tvl1", "zstd")
        assert f.params == {"tau": 0.25, "nested": {"x": [1, 2]}}
        everything = f.read(range(6))
    assert everything.dtype == np.uint8 and everything.shape == (6, 12, 20, 2)
    assert np.array_equal(everything, quantise(flow, 20.0))
    assert [p.name for p in path.parent.iterdir()] == ["clip.kflow"]  # no temporary file left behind


def test_windows_in_any_order_with_repeats(tmp_path):
    flow = random_flow(fields=9)
    path = tmp_path / "clip.kflow"
    write_flow_file(path, flow, fps=25.0, method="dis", params={})
    q = quantise(flow, 20.0)
    with FlowFile.open(path) as f:
        for indices in ([3, 4, 5], [8, 0, 8, 2], [7], []):
            assert np.array_equal(f.read(indices), q[indices]), indices
            assert np.array_equal(f.read_planar(indices), q[indices].transpose(3, 0, 1, 2)), indices  # the loader's layout
        assert np.array_equal(f.read(np.array([1, 2])), q[[1, 2]])


def test_uint8_fields_are_stored_as_given(tmp_path):
    q = np.random.default_rng(1).integers(0, 256, (3, 8, 10, 2), dtype=np.uint8)
    path = tmp_path / "clip.kflow"
    write_flow_file(path, iter(list(q)), fps=12.5, bound=10.0, method="farneback", params={})
    with FlowFile.open(path) as f:
        assert f.bound == 10.0 and f.fps == 12.5
        assert np.array_equal(f.read([0, 1, 2]), q)


def test_jpeg_codec_is_close_and_smaller_on_noisy_smooth_flow(tmp_path):
    ys, xs = np.mgrid[0:64, 0:96].astype(np.float32)
    smooth = np.stack([np.stack([np.sin(xs / 9 + t) * 6, np.cos(ys / 7 - t) * 4], -1) for t in range(4)]).astype(np.float32)
    smooth += np.random.default_rng(0).normal(0, 0.05, smooth.shape).astype(np.float32)
    lossless, lossy = tmp_path / "a.kflow", tmp_path / "b.kflow"
    write_flow_file(lossless, smooth, fps=25.0, method="tvl1", params={})
    write_flow_file(lossy, smooth, fps=25.0, method="tvl1", params={}, codec="jpeg", quality=90)
    with FlowFile.open(lossy) as f:
        assert f.codec == "jpeg"
        error = np.abs(f.read(range(4)).astype(int) - quantise(smooth, 20.0).astype(int))
    assert error.mean() < 0.5 and error.max() <= 4
    assert lossy.stat().st_size < lossless.stat().st_size


@pytest.mark.parametrize(
    "fields, message",
    [
        ([], "no flow fields"),
        ([np.zeros((4, 4, 3), np.float32)], r"\[H, W, 2\]"),
        ([np.zeros((4, 4, 2), np.float32), np.zeros((4, 5, 2), np.float32)], "field 1"),
        ([np.full((4, 4, 2), np.nan, np.float32)], "NaN"),
        ([np.zeros((4, 4, 2), np.int16)], "float"),
    ],
)
def test_bad_fields_are_refused_naming_the_file(tmp_path, fields, message):
    path = tmp_path / "bad.kflow"
    with pytest.raises(ValueError, match=message) as info:
        write_flow_file(path, fields, fps=25.0, method="tvl1", params={})
    assert "bad.kflow" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing published, no temporary file left


def test_bad_options_are_refused(tmp_path):
    flow = random_flow(fields=1)
    for kwargs, message in (
        ({"codec": "png"}, "codec"), ({"bound": 0.0}, "bound"), ({"fps": -1.0}, "fps"),
        ({"codec": "jpeg", "quality": 0}, "quality"), ({"params": {"x": object()}}, "JSON"),
    ):
        options = {"fps": 25.0, "method": "tvl1", "params": {}, **kwargs}
        with pytest.raises(ValueError, match=message):
            write_flow_file(tmp_path / "x.kflow", flow, **options)


def test_corrupt_and_foreign_files_raise_flow_file_errors(tmp_path):
    good = tmp_path / "good.kflow"
    write_flow_file(good, random_flow(fields=3), fps=25.0, method="tvl1", params={})
    data = good.read_bytes()

    foreign = tmp_path / "foreign.kflow"
    foreign.write_bytes(b"RIFF" + data[4:])
    with pytest.raises(FlowFileError, match="foreign.kflow.*bad magic"):
        FlowFile.open(foreign)

    truncated = tmp_path / "truncated.kflow"
    truncated.write_bytes(data[:-10])
    with FlowFile.open(truncated) as f:
        assert np.array_equal(f.read([0]), FlowFile.open(good).read([0]))  # the intact fields still read
        with pytest.raises(FlowFileError, match="truncated"):
            f.read([2])

    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    corrupt = tmp_path / "corrupt.kflow"
    corrupt.write_bytes(bytes(flipped))
    with FlowFile.open(corrupt) as f, pytest.raises(FlowFileError, match="corrupt.kflow: field 2 is corrupt"):
        f.read([2])

    with pytest.raises(FlowFileError, match="missing.kflow"):
        FlowFile.open(tmp_path / "missing.kflow")
    with FlowFile.open(good) as f, pytest.raises(IndexError, match="field 3 out of range"):
        f.read([0, 3])


def test_header_is_plain_json_after_the_magic(tmp_path):
    path = tmp_path / "clip.kflow"
    write_flow_file(path, random_flow(fields=2), fps=30.0, method="tvl1-torch", params={"warps": 5})
    data = path.read_bytes()
    assert data[:5] == b"KFLOW"
    length = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12 : 12 + length])
    assert header["num_fields"] == 2 and header["channels"] == "xy" and header["params"] == {"warps": 5}
