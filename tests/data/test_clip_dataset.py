"""ClipDataset over plain records: frame timing at 25 fps, looping, views, flow alignment, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from kinetics.data.clips import ClipDataset, RecordTable, VideoRecord
from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.errors import CorruptClipError
from numbered_media import expected_stored, frame_numbers

FULL_FRAMES = SpatialOptions(short_side_pixels=None, crop_pixels=None, flip=False)


def _dataset(records, **options):
    options.setdefault("spatial", FULL_FRAMES)
    return ClipDataset(records, None, **options)


@pytest.mark.parametrize("stored_fps", [30, 24, 25])
def test_frames_are_taken_at_25_fps_whatever_the_stored_rate(numbered_clip, stored_fps):
    path = numbered_clip(fps=stored_fps, seconds=4)
    record = VideoRecord("x", str(path), fps=stored_fps, frames=stored_fps * 4, width=128, height=64)
    dataset = _dataset([record], sampling=SamplingOptions("center", num_frames=32))
    sample = dataset[0]
    clip_frames = int(np.floor((stored_fps * 4 - 1) * 25 / stored_fps + 1e-6)) + 1
    start = (clip_frames - 32) // 2
    assert sample["start_seconds"] == pytest.approx(start / 25)
    assert frame_numbers(sample["rgb"]) == expected_stored(np.arange(start, start + 32), stored_fps, 25)


def test_random_windows_decode_the_frames_they_claim(numbered_clip):
    path = numbered_clip(fps=30, seconds=4)
    record = VideoRecord("x", str(path), fps=30, frames=120, width=128, height=64)
    dataset = _dataset([record], sampling=SamplingOptions.train(num_frames=16))
    starts = set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        sample = dataset[0]
        start = round(sample["start_seconds"] * 25)
        starts.add(start)
        assert frame_numbers(sample["rgb"]) == expected_stored(np.arange(start, start + 16), 30, 25)
    assert len(starts) > 1


def test_short_clips_loop(numbered_clip):
    path = numbered_clip(fps=25, seconds=1)
    dataset = _dataset([VideoRecord("s", str(path), fps=25, frames=25, width=128, height=64)],
                       sampling=SamplingOptions.train(num_frames=64))
    rgb = dataset[0]["rgb"]
    assert rgb.shape == (3, 64, 64, 128)
    assert frame_numbers(rgb) == [i % 25 for i in range(64)]


def test_multi_view_items_are_stacked(numbered_clip):
    path = numbered_clip(fps=25, seconds=4)
    dataset = _dataset([VideoRecord("m", str(path), fps=25, frames=100, width=128, height=64)],
                       sampling=SamplingOptions.multi_view(3, num_frames=8))
    sample = dataset[0]
    assert sample["rgb"].shape == (3, 3, 8, 64, 128)
    assert sample["start_seconds"].tolist() == pytest.approx([0.0, 46 / 25, 92 / 25])
    assert [frame_numbers(view)[0] for view in sample["rgb"]] == [0, 46, 92]


@pytest.mark.parametrize("stored_fps", [25, 30])
def test_overlapping_views_read_in_one_pass_are_the_windows_they_claim(numbered_clip, stored_fps):
    path = numbered_clip(fps=stored_fps, seconds=2)  # 50 target frames: 3 views of 32 overlap, so one read
    record = VideoRecord("o", str(path), fps=stored_fps, frames=stored_fps * 2, width=128, height=64)
    dataset = _dataset([record], sampling=SamplingOptions.multi_view(3, num_frames=32))
    sample = dataset[0]
    assert sample["rgb"].shape == (3, 3, 32, 64, 128)
    for view, start_seconds in zip(sample["rgb"], sample["start_seconds"].tolist()):
        start = round(start_seconds * 25)
        assert frame_numbers(view) == expected_stored(np.arange(start, start + 32), stored_fps, 25)


def test_unknown_metadata_is_probed_lazily(numbered_clip):
    path = numbered_clip(fps=30, seconds=4)
    dataset = ClipDataset([VideoRecord("p", str(path))], sampling=SamplingOptions.full(),
                          spatial=SpatialOptions.test(short_side_pixels=None, crop_pixels=48))
    sample = dataset[0]
    assert sample["rgb"].shape == (3, 100, 48, 48)  # 4 s at 25 fps, centre 48x48 crop
    assert sample["label"] == -1 and sample["clip_id"] == "p" and sample["index"] == 0


def test_default_pipeline_resizes_crops_and_scales(numbered_clip):
    path = numbered_clip(fps=25, seconds=3)
    sample = ClipDataset([VideoRecord("d", str(path), label_index=4)])[0]  # paper defaults
    rgb = sample["rgb"]
    assert rgb.shape == (3, 64, 224, 224) and rgb.dtype == torch.float32
    assert rgb.min() >= -1 and rgb.max() <= 1 and rgb.min() < -0.7 and rgb.max() > 0.7
    assert sample["label"] == 4


def test_records_as_arrow_columns(numbered_clip):
    import pyarrow as pa

    path = str(numbered_clip(fps=25, seconds=2))
    table = pa.table({"clip_id": ["a", "b"], "path": [path, path], "label_index": [1, None], "fps": [25.0, None]})
    records = RecordTable(table)
    assert len(records) == 2 and records[1] == VideoRecord("b", path)
    assert records[-2].label_index == 1 and len(records[1:]) == 1
    with pytest.raises(IndexError):
        records[2]


def test_on_error_raise_skip_and_callable(numbered_clip, tmp_path, caplog):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    good = numbered_clip(fps=25, seconds=2)
    records = [VideoRecord("bad", str(bad), fps=25, frames=50, width=128, height=64),
               VideoRecord("good", str(good), fps=25, frames=50, width=128, height=64)]
    sampling = SamplingOptions.train(num_frames=4)
    with pytest.raises(CorruptClipError, match="bad.mp4"):
        _dataset(records, sampling=sampling)[0]
    skipping = _dataset(records, sampling=sampling, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="kinetics.data"):
        first, second = skipping[0], skipping[0]
    assert first["clip_id"] == "good" and first["index"] == 1
    assert torch.equal(first["rgb"], second["rgb"])  # the replacement is deterministic too
    assert sum("bad" in r.getMessage() for r in caplog.records) == 1  # logged once
    seen = []
    handled = _dataset(records, sampling=sampling, on_error=lambda err, rec: seen.append(rec.clip_id) or {"rgb": None})
    assert handled[0]["rgb"] is None and seen == ["bad"]
    with pytest.raises(ValueError, match="on_error"):
        _dataset(records, on_error="ignore")


def test_options_are_checked_once(numbered_clip):
    record = VideoRecord("x", "x.mp4")
    with pytest.raises(ValueError, match="modalities"):
        ClipDataset([record], modalities=("rgb", "depth"))
    with pytest.raises(ValueError, match="decoder must be one of"):
        ClipDataset([record], decoder="decord")
    with pytest.raises(ValueError, match="clip_id and a path"):
        VideoRecord("", "x.mp4")


def test_resize_path_crops_the_mirrored_box(numbered_clip):
    path = numbered_clip(fps=25, seconds=2)
    record = VideoRecord("r", str(path), fps=25, frames=50, width=128, height=64)
    spatial = SpatialOptions(short_side_pixels=96, crop_pixels=62, crop="center", flip=True)  # 192x96, box at x=64
    dataset = _dataset([record], sampling=SamplingOptions("center", num_frames=4), spatial=spatial)
    by_flip = {}
    for epoch in range(12):
        dataset.set_epoch(epoch)
        plan = spatial.plan(64, 128, generator=dataset.generator(0))
        by_flip[plan.flip] = dataset[0]["rgb"]
    assert by_flip[True].shape == (3, 4, 62, 62)
    assert torch.allclose(by_flip[True], by_flip[False].flip(-1), atol=1e-5)


def test_large_items_cross_process_boundaries(numbered_clip):
    """Items over 8 MB live on huge-page memory; they must still pickle to the main process unbatched."""
    path = numbered_clip(fps=25, seconds=4)
    dataset = _dataset([VideoRecord("big", str(path), fps=25, frames=100, width=128, height=64)],
                       sampling=SamplingOptions("center", num_frames=128))
    expected = dataset[0]["rgb"]
    assert expected.numel() * 4 > 8 << 20
    loaded = next(iter(torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=1)))["rgb"]
    assert torch.equal(loaded, expected)


def test_transforms_get_the_item_generator(numbered_clip):
    from kinetics.data.transforms import Compose, RandomCrop

    path = numbered_clip(fps=25, seconds=2)
    record = VideoRecord("t", str(path), fps=25, frames=50, width=128, height=64)
    sampling = SamplingOptions("center", num_frames=2)
    seeded = _dataset([record], sampling=sampling, transform=Compose([RandomCrop(16)]))
    corners = set()
    for epoch in range(6):
        seeded.set_epoch(epoch)
        first = seeded[0]["rgb"]
        torch.manual_seed(epoch)  # the global RNG must not matter
        assert torch.equal(first, seeded[0]["rgb"])
        corners.add(first[0, 0, 0, :4].sum().item())
    assert len(corners) > 1
    plain = _dataset([record], sampling=sampling, transform=lambda sample: {**sample, "extra": 1})
    assert plain[0]["extra"] == 1
