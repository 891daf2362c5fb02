"""KineticsDataset over a real mini corpus: index-only opening, counts, flow, workers, sharding, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from kinetics.data.dataset import KineticsDataset
from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.errors import CorpusError, CorruptClipError
from numbered_media import frame_numbers

def _ids(dataset) -> list[str]:
    return [dataset.records[i].clip_id for i in range(len(dataset))]


def _position(dataset, clip_id: str) -> int:
    return _ids(dataset).index(clip_id)


SMALL = dict(sampling=SamplingOptions.train(num_frames=8), spatial=SpatialOptions.train(short_side_pixels=None, crop_pixels=48))


def test_opens_from_the_index_and_counts_what_it_leaves_out(mini_corpus, monkeypatch):
    import av

    def no_probing(*args, **kwargs):
        raise AssertionError("opening a dataset must not open video files")

    monkeypatch.setattr(av, "open", no_probing)
    dataset = KineticsDataset(mini_corpus.root, "train")
    assert sorted(_ids(dataset)) == list(mini_corpus.train_ids)
    assert (dataset.counts.ok, dataset.counts.missing, dataset.counts.failed) == (6, 1, 1)
    assert dataset.classes == ["abseiling", "air drumming"]
    record = dataset.records[_position(dataset, "bbbbbbbbbbb_000005_000015")]
    assert (record.fps, record.frames, record.width, record.height, record.label_index) == (30.0, 90, 128, 64, 1)
    assert (mini_corpus.root / record.path).is_file()
    assert "missing=1" in repr(dataset)


def test_splits_and_the_unlabelled_test_split(mini_corpus):
    val = KineticsDataset(mini_corpus.root, "val", spatial=SpatialOptions.test(crop_pixels=224))
    assert len(val) == 2 and val.sampling == SamplingOptions.test() and not val.spatial.flip
    test = KineticsDataset(mini_corpus.root, "test", sampling=SamplingOptions.test(num_frames=8), **{"spatial": SMALL["spatial"]})
    sample = test[0]
    assert sample["label"] == -1 and sample["rgb"].shape == (3, 8, 48, 48)
    with pytest.raises(CorpusError, match="no index"):
        KineticsDataset(mini_corpus.root / "train", "train")


def test_rgb_and_flow_share_crop_flip_and_timing(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", modalities=("rgb", "flow"),
                              sampling=SamplingOptions.train(num_frames=16),
                              spatial=SpatialOptions.train(short_side_pixels=None, crop_pixels=48))
    assert sorted(_ids(dataset)) == list(mini_corpus.with_flow)
    assert dataset.counts.no_flow == 3
    flips = set()
    for epoch in range(4):
        dataset.set_epoch(epoch)
        sample = dataset[_position(dataset, mini_corpus.with_flow[0])]  # 25 fps: field k shows the bands of frame k
        rgb, flow = sample["rgb"], sample["flow"]
        assert flow.shape == (2, 16, 48, 48) and flow.dtype == torch.float32
        agree = ((rgb.mean(0) > 0) == (flow[1] > 0)).float().mean()
        assert agree > 0.97  # same crop, same flip, same frames
        x = flow[0].unique()
        assert len(x) == 1 and abs(abs(x.item()) - (191 / 127.5 - 1)) < 1e-6
        flips.add(bool(x.item() < 0))  # a flip negates x
    assert flips == {True, False}


def test_flow_repeats_the_last_field_for_the_last_frame(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", modalities=("flow",), sampling=SamplingOptions.full(),
                              spatial=SpatialOptions(short_side_pixels=None, crop_pixels=None, flip=False))
    short = [i for i in range(len(dataset)) if dataset.records[i].frames == 25][0]
    flow = dataset[short]["flow"]  # 25 frames, 24 fields
    assert flow.shape == (2, 25, 64, 128)
    band_of_bit0 = flow[1, :, 32, 8] > 0  # field k shows k's bits; bit 0 alternates
    assert band_of_bit0.tolist() == [bool(min(k, 23) & 1) for k in range(25)]


def test_dataloader_workers_give_the_same_items_as_the_dataset(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", on_error="skip", seed=7, **SMALL)
    dataset.set_epoch(3)
    expected = [dataset[i] for i in range(len(dataset))]
    loader = DataLoader(dataset, batch_size=2, num_workers=2, shuffle=False)
    batches = list(loader)
    rgb = torch.cat([b["rgb"] for b in batches])
    assert rgb.shape == (len(dataset), 3, 8, 48, 48)
    for i, item in enumerate(expected):
        assert torch.equal(rgb[i], item["rgb"])
    ids = [c for b in batches for c in b["clip_id"]]
    assert mini_corpus.broken_id in _ids(dataset) and mini_corpus.broken_id not in ids  # skipped and replaced


def test_epochs_and_seeds_change_the_randomness(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", seed=1, **SMALL)
    first = dataset[0]["rgb"]
    assert torch.equal(first, dataset[0]["rgb"])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[0]["rgb"])
    other = KineticsDataset(mini_corpus.root, "train", seed=2, **SMALL)
    assert not torch.equal(first, other[0]["rgb"])


def test_distributed_sampler_shards_disjointly(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", on_error="skip", **SMALL)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=0)
        sampler.set_epoch(1)
        dataset.set_epoch(1)
        indices = list(sampler)
        assert len(indices) == 3
        loader = DataLoader(dataset, batch_size=3, sampler=sampler, num_workers=0)
        batch = next(iter(loader))
        for position, index in enumerate(indices):
            if dataset.records[index].clip_id != mini_corpus.broken_id:
                assert batch["clip_id"][position] == dataset.records[index].clip_id
                assert torch.equal(batch["rgb"][position], dataset[index]["rgb"])
        seen += indices
    assert sorted(seen) == list(range(len(dataset)))


def test_a_broken_clip_raises_with_its_path_by_default(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", **SMALL)
    with pytest.raises(CorruptClipError, match=mini_corpus.broken_id):
        dataset[_position(dataset, mini_corpus.broken_id)]


def test_timing_through_the_index(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "train", sampling=SamplingOptions("center", num_frames=20),
                              spatial=SpatialOptions(short_side_pixels=None, crop_pixels=None, flip=False))
    for i in range(len(dataset)):
        record = dataset.records[i]
        if record.clip_id == mini_corpus.broken_id:
            continue
        sample = dataset[i]
        start = round(sample["start_seconds"] * 25)
        target = (start + np.arange(20)) % max(1, int((record.frames - 1) * 25 / record.fps + 1e-6) + 1)
        assert frame_numbers(sample["rgb"]) == [int(k * record.fps / 25 + 1e-6) for k in target]



def test_item_order_survives_compaction(mini_corpus, tmp_path):
    import shutil

    from kinetics.corpus.index import CorpusIndex

    copy = tmp_path / "corpus"
    shutil.copytree(mini_corpus.root, copy)
    before = _ids(KineticsDataset(copy, "train"))
    assert CorpusIndex(copy).compact()["clips"] == 2
    assert _ids(KineticsDataset(copy, "train")) == before


def test_multi_view_with_flow_stacks_both_streams(mini_corpus):
    dataset = KineticsDataset(mini_corpus.root, "val", modalities=("rgb",), sampling=SamplingOptions.multi_view(2, num_frames=8),
                              spatial=SpatialOptions.test(short_side_pixels=None, crop_pixels=48))
    assert dataset[0]["rgb"].shape == (2, 3, 8, 48, 48)
    with_flow = KineticsDataset(mini_corpus.root, "train", modalities=("rgb", "flow"),
                                sampling=SamplingOptions.multi_view(3, num_frames=8), spatial=dataset.spatial)
    sample = with_flow[0]
    assert sample["rgb"].shape == (3, 3, 8, 48, 48) and sample["flow"].shape == (3, 2, 8, 48, 48)
    assert sample["start_seconds"].shape == (3,)


def test_class_names_come_from_the_corpus_manifest(mini_corpus, tmp_path, shared_data):
    """A class with no ok clip in the split still has its name at its index (the checkpoint's order)."""
    import shutil

    from kinetics.corpus.index import CorpusIndex
    from kinetics.manifests.readers import Manifest

    root = tmp_path / "copy"
    shutil.copytree(mini_corpus.root, root)
    manifest = Manifest.from_file(shared_data / "kinetics400" / "kinetics-400_val.csv", version="400")
    CorpusIndex(root).add_targets(manifest.table)
    classes = KineticsDataset(root, "train").classes
    assert len(classes) == 400 and classes == manifest.classes
