"""UCF101Dataset / HMDB51Dataset over prepared roots, and the flow job list, with real tiny AVIs."""

from __future__ import annotations

import numpy as np
import pytest

from kinetics.corpus.index import CorpusIndex, FlowRecord
from kinetics.data.prepare import PrepareOptions, prepare_dataset
from kinetics.data.sampling import SamplingOptions
from kinetics.data.splits import list_videos
from kinetics.data.transforms import SpatialOptions
from kinetics.data.video_folders import HMDB51Dataset, UCF101Dataset
from kinetics.errors import CorpusError, KineticsError
from kinetics.corpus.flowfile import SUFFIX, write_flow_file

SMALL = {"sampling": SamplingOptions.train(num_frames=8, fps=10), "spatial": SpatialOptions.test(short_side_pixels=None, crop_pixels=16)}


@pytest.mark.network_loopback
def test_a_prepared_miniature_ucf101_loads_real_items(tmp_path, serve, ucf_archives, checked_sources):
    server = serve(ucf_archives.directory)
    sources = checked_sources("ucf101", ucf_archives.directory)
    root = tmp_path / "ucf"
    prepare_dataset(PrepareOptions("ucf101", root, base_url=server.url("files"), sources=sources, show_progress=False))

    train = UCF101Dataset(root, split=1, train=True, **SMALL)
    assert len(train) == 3 and train.missing_videos == () and train.classes == ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
    items = [train[i] for i in range(len(train))]
    assert [(s["clip_id"], s["label"]) for s in items] == [
        ("v_ApplyEyeMakeup_g02_c01", 0), ("v_HandStandPushups_g02_c01", 1), ("v_YoYo_g02_c01", 2)
    ]
    rgb = items[1]["rgb"]
    assert tuple(rgb.shape) == (3, 8, 16, 16) and -1.0 <= float(rgb.min()) < float(rgb.max()) <= 1.0
    assert float(rgb.std()) > 0.05  # decoded picture content, not a blank
    test = UCF101Dataset(root, split=3, train=False, **SMALL)
    assert {r.clip_id for r in test.records} == {"v_ApplyEyeMakeup_g01_c01", "v_HandStandPushups_g01_c01", "v_YoYo_g01_c01"}


def test_listed_videos_absent_from_disk_are_counted_not_fatal(ucf_root):
    (ucf_root / "UCF101/YoYo/v_YoYo_g02_c01.avi").unlink()
    (ucf_root / "UCF101/ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi").write_bytes(b"not a video")
    dataset = UCF101Dataset(ucf_root, split=2, train=True, **SMALL)  # opens without reading any video
    assert dataset.missing_videos == ("YoYo/v_YoYo_g02_c01.avi",) and (dataset.counts.missing, dataset.counts.excluded) == (1, 1)
    assert len(dataset) == 2
    assert dataset[1]["clip_id"] == "v_HandStandPushups_g02_c01"
    with pytest.raises(KineticsError, match="v_ApplyEyeMakeup_g02_c01.avi"):
        dataset[0]
    skipping = UCF101Dataset(ucf_root, split=2, train=True, on_error="skip", **SMALL)
    assert skipping[0]["clip_id"] == "v_HandStandPushups_g02_c01"


def test_class_directories_are_matched_whatever_their_case(ucf_root):
    (ucf_root / "UCF101/HandstandPushups").rename(ucf_root / "UCF101/HandStandPushups")
    dataset = UCF101Dataset(ucf_root, split=1, train=False, **SMALL)
    assert dataset.missing_videos == ()
    record = next(r for r in dataset.records if r.label_index == 1)
    assert record.path == "UCF101/HandStandPushups/v_HandStandPushups_g01_c01.avi"


def test_a_root_without_split_files_says_how_to_prepare_it(tmp_path):
    with pytest.raises(CorpusError, match="kinetics prepare hmdb51"):
        HMDB51Dataset(tmp_path)


def test_hmdb51_subsets_follow_the_tags_and_never_load_unused_videos(hmdb_root):
    train = HMDB51Dataset(hmdb_root, split=1, train=True, **SMALL)
    test = HMDB51Dataset(hmdb_root, split=1, train=False, **SMALL)
    assert train.classes == ["brush_hair", "cartwheel"]
    assert [(r.clip_id.split("_")[0], r.label_index) for r in train.records] == [("Brushing", 0), ("Acrobacias", 1)]
    assert [r.label_index for r in test.records] == [0, 1]
    assert not {r.clip_id for r in train.records} & {r.clip_id for r in test.records}
    assert not any("goo_1" in r.clip_id or "Cartwheel_cartwheel" in r.clip_id for r in train.records + test.records)
    item = test[1]
    assert item["label"] == 1 and tuple(item["rgb"].shape) == (3, 8, 16, 16)


def test_list_videos_gives_flow_jobs_for_every_video(ucf_root, hmdb_root):
    ucf = list_videos(ucf_root, "ucf101")
    assert len(ucf) == 6 and [v.relpath for v in ucf] == sorted(v.relpath for v in ucf)
    video = next(v for v in ucf if v.label == "HandstandPushups")
    assert (video.clip_id, video.split) == ("v_HandStandPushups_g01_c01", "all")
    assert video.path == ucf_root.absolute() / "UCF101/HandstandPushups/v_HandStandPushups_g01_c01.avi"
    assert video.flow_relpath("tvl1", SUFFIX) == "flow/tvl1/UCF101/HandstandPushups/v_HandStandPushups_g01_c01.kflow"

    (hmdb_root / "flow" / "tvl1" / "brush_hair").mkdir(parents=True)
    (hmdb_root / "flow" / "tvl1" / "brush_hair" / "x.avi").write_bytes(b"")  # never a video of the dataset
    (hmdb_root / "archives").mkdir()
    hmdb = list_videos(hmdb_root, "hmdb51")
    assert len(hmdb) == 6 and {v.label for v in hmdb} == {"brush_hair", "cartwheel"}
    assert all(v.path.is_file() and v.relpath == f"{v.label}/{v.path.name}" for v in hmdb)


def test_flow_is_read_from_the_index_and_videos_without_flow_are_counted(ucf_root):
    videos = {v.clip_id: v for v in list_videos(ucf_root, "ucf101")}
    records = []
    for clip_id in ("v_ApplyEyeMakeup_g02_c01", "v_YoYo_g02_c01"):  # HandStandPushups gets no flow
        relpath = videos[clip_id].flow_relpath("tvl1", SUFFIX)
        fields = np.full((11, 24, 32, 2), 3.0, dtype=np.float32)
        fields[..., 1] = -2.0
        (ucf_root / relpath).parent.mkdir(parents=True, exist_ok=True)
        write_flow_file(ucf_root / relpath, fields, fps=10.0, method="tvl1", params={})
        records.append(FlowRecord(clip_id, "all", "tvl1", "ok", path=relpath, frames=11, width=32, height=24, fps=10.0))
    records.append(FlowRecord("v_HandStandPushups_g02_c01", "all", "tvl1", "failed", message="boom"))
    CorpusIndex(ucf_root).record_flow(records)

    dataset = UCF101Dataset(ucf_root, split=1, train=True, modalities=("rgb", "flow"), **SMALL)
    assert len(dataset) == 2 and dataset.missing_flow == ("HandstandPushups/v_HandStandPushups_g02_c01.avi",)
    assert (dataset.counts.ok, dataset.counts.no_flow) == (2, 1)
    item = dataset[1]
    assert item["clip_id"] == "v_YoYo_g02_c01" and tuple(item["flow"].shape) == (2, 8, 16, 16)
    x, y = item["flow"][0], item["flow"][1]
    assert float(x.mean()) > 0.1 and float(y.mean()) < -0.05  # +3 px right, -2 px down, over a bound of 20


def test_flow_extracted_by_kinetics_flow_loads_through_the_dataset(ucf_root):
    """The real round trip: list_videos -> the flow extractor -> the flow index -> UCF101Dataset."""
    from kinetics.flow.run import FlowOptions, extract_flow

    summary = extract_flow(FlowOptions(root=ucf_root, dataset="ucf101", method="farneback", fps=10, progress=False))
    assert (summary.ok, summary.failed) == (6, 0)
    assert (ucf_root / "flow/farneback/UCF101/HandstandPushups/v_HandStandPushups_g02_c01.kflow").is_file()
    dataset = UCF101Dataset(ucf_root, split=1, train=False, modalities=("rgb", "flow"), flow_method="farneback", **SMALL)
    assert len(dataset) == 3 and dataset.counts.no_flow == 0
    item = dataset[1]
    assert item["clip_id"] == "v_HandStandPushups_g01_c01" and tuple(item["flow"].shape) == (2, 8, 16, 16)
