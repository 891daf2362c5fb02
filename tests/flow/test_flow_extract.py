"""`kinetics flow` end to end: a corpus of clips with known motion -> .kflow files + index -> the Dataset."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kinetics.cli.main import main
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.flowfile import FlowFile, dequantise
from numbered_media import add_clip

FRAMES = 9  # 0.36 s at 25 fps: 8 fields per clip
SIZE = {"width": 96, "height": 64}
MOTION = {"rightdown00_000000_000010": (2, 1), "leftup00000_000000_000010": (-3, -1)}
BROKEN = "brokenbroke_000000_000010"


def make_corpus(root: Path, moving_clip) -> Path:
    """train: two clips sliding by known steps and one garbage file; val: one clip."""
    records = [
        add_clip(root, moving_clip(dx=dx, dy=dy, frames=FRAMES), clip_id=clip_id, split="train", label="abseiling",
                 label_index=0, fps=25.0, frames=FRAMES, **SIZE)
        for clip_id, (dx, dy) in MOTION.items()
    ]
    broken = add_clip(root, moving_clip(dx=1, dy=1, frames=FRAMES), clip_id=BROKEN, split="train", label="archery",
                      label_index=1, fps=25.0, frames=FRAMES, **SIZE)
    (root / broken.path).write_bytes(b"not a video at all" * 50)
    val = add_clip(root, moving_clip(dx=1, dy=0, frames=FRAMES), clip_id="valvalvalva_000000_000010", split="val",
                   label="abseiling", label_index=0, fps=25.0, frames=FRAMES, **SIZE)
    CorpusIndex(root).record_clips([*records, broken, val])
    return root


@pytest.fixture
def corpus(tmp_path, moving_clip) -> Path:
    return make_corpus(tmp_path / "corpus", moving_clip)


@pytest.fixture(scope="module")
def tvl1_corpus(tmp_path_factory, moving_clip) -> tuple[Path, int, dict]:
    """A corpus after ``kinetics flow --split train --method tvl1`` (the paper's flow), with the exit code and summary."""
    root = make_corpus(tmp_path_factory.mktemp("tvl1") / "corpus", moving_clip)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["flow", "--root", str(root), "--split", "train", "--method", "tvl1", "--json"])
    return root, code, json.loads(out.getvalue())


def run_flow(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["flow", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def interior_median(flow: np.ndarray) -> tuple[float, float]:
    """Median x and y of [..., H, W, 2] flow away from the borders (where motion is ambiguous)."""
    inner = flow[..., 8:-8, 8:-8, :]
    return float(np.median(inner[..., 0])), float(np.median(inner[..., 1]))


def test_tvl1_flow_for_a_split_is_recorded_and_has_the_known_motion(tvl1_corpus):
    corpus, code, summary = tvl1_corpus
    assert code == 1  # the garbage file failed; the others went on
    assert (summary["selected"], summary["ok"], summary["failed"], summary["skipped"]) == (3, 2, 1, 0)
    assert summary["failures"][0][0] == BROKEN and "CorruptClipError" in summary["failures"][0][1]

    state = {r["clip_id"]: r for r in CorpusIndex(corpus).flow_state("train", "tvl1").to_pylist()}
    assert state[BROKEN]["status"] == "failed" and state[BROKEN]["path"] is None
    for clip_id, (dx, dy) in MOTION.items():
        row = state[clip_id]
        assert row["status"] == "ok" and row["path"] == f"flow/tvl1/train/abseiling/{clip_id}.kflow"
        assert (row["frames"], row["width"], row["height"], row["fps"], row["bound"]) == (FRAMES - 1, 96, 64, 25.0, 20.0)
        assert json.loads(row["params"])["warps"] == 5
        with FlowFile.open(corpus / row["path"]) as flow:
            pixels = dequantise(flow.read(range(flow.num_fields))) * flow.bound
        x, y = interior_median(pixels)
        assert abs(x - dx) <= 0.2 and abs(y - dy) <= 0.2  # within 1.3 quantisation steps
    assert not (corpus / "flow" / "tvl1" / "val").exists()  # --split train only


def test_rerun_skips_retries_failures_and_adopts_unrecorded_files(corpus, capsys):
    run_flow(capsys, "--root", str(corpus), "--split", "train", "--method", "dis")
    files = sorted((corpus / "flow" / "dis").rglob("*.kflow"))
    stamps = [f.stat().st_mtime_ns for f in files]
    assert len(files) == 2

    code, again = run_flow(capsys, "--root", str(corpus), "--split", "train", "--method", "dis")
    assert (again["skipped"], again["ok"], again["failed"]) == (2, 0, 1)  # only the failed clip is tried again

    shutil.rmtree(corpus / "index" / "flow")  # a crash lost the records, not the files
    code, adopted = run_flow(capsys, "--root", str(corpus), "--split", "train", "--method", "dis")
    assert (adopted["ok"], adopted["adopted"], adopted["failed"]) == (2, 2, 1)
    assert [f.stat().st_mtime_ns for f in files] == stamps  # verified and recorded, not recomputed

    stale = files[0].parent / f".{files[0].name}.0123456789ab.part"
    stale.write_bytes(b"half a file")
    code, redone = run_flow(capsys, "--root", str(corpus), "--split", "train", "--method", "dis", "--overwrite")
    assert (redone["skipped"], redone["ok"], redone["adopted"]) == (0, 2, 0) and not stale.exists()

    code, limited = run_flow(capsys, "--root", str(corpus), "--split", "train", "--method", "farneback", "--limit", "1")
    assert limited["selected"] == 1 and limited["ok"] + limited["failed"] == 1


def test_parallel_workers_cover_every_split(corpus, capsys):
    code, summary = run_flow(capsys, "--root", str(corpus), "--method", "farneback", "--jobs", "2")
    assert (summary["ok"], summary["failed"]) == (3, 1)
    val = CorpusIndex(corpus).flow_state("val", "farneback").to_pylist()
    assert [r["status"] for r in val] == ["ok"]
    with FlowFile.open(corpus / val[0]["path"]) as flow:
        x, y = interior_median(dequantise(flow.read([0, 4, 7])) * flow.bound)
    assert abs(x - 1) <= 0.2 and abs(y) <= 0.2


def test_dataset_loads_aligned_flow_with_sign_and_magnitude_before_and_after_a_flip(tvl1_corpus):
    from kinetics.data.dataset import KineticsDataset
    from kinetics.data.sampling import SamplingOptions
    from kinetics.data.transforms import SpatialOptions

    corpus = tvl1_corpus[0]
    sampling = SamplingOptions(mode="center", num_frames=8)
    plain = KineticsDataset(corpus, "train", modalities=("rgb", "flow"), sampling=sampling,
                            spatial=SpatialOptions(None, None, "center", flip=False))
    assert sorted(plain.records[i].clip_id for i in range(len(plain))) == sorted(MOTION)  # no flow, no clip
    flipping = KineticsDataset(corpus, "train", modalities=("rgb", "flow"), sampling=sampling,
                               spatial=SpatialOptions(None, None, "center", flip=True))
    signs_seen = set()
    for item in range(len(plain)):
        sample = plain[item]
        dx, dy = MOTION[sample["clip_id"]]
        flow = sample["flow"]  # [2, T, H, W] in [-1, 1]
        assert flow.shape == (2, 8, 64, 96) and sample["rgb"].shape == (3, 8, 64, 96)
        x, y = interior_median(flow.permute(1, 2, 3, 0).numpy() * 20.0)
        assert abs(x - dx) <= 0.2 and abs(y - dy) <= 0.2
        for epoch in range(6):  # a coin per epoch: both sides come up
            flipping.set_epoch(epoch)
            other = flipping[item]
            flipped = bool(np.array_equal(other["rgb"].flip(-1).numpy(), sample["rgb"].numpy()))
            fx, fy = interior_median(other["flow"].permute(1, 2, 3, 0).numpy() * 20.0)
            assert abs(fy - dy) <= 0.2  # y never changes
            assert abs(fx - (-dx if flipped else dx)) <= 0.2  # x changes sign with the picture
            signs_seen.add(flipped)
    assert signs_seen == {True, False}


def test_ucf101_folder_root_gets_flow_recorded_for_its_own_dataset(tmp_path, moving_clip, capsys):
    from kinetics.data.video_folders import UCF101Dataset
    from kinetics.data.sampling import SamplingOptions
    from kinetics.data.transforms import SpatialOptions

    root = tmp_path / "ucf"
    videos = {"ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": (2, 0), "Archery/v_Archery_g01_c01.avi": (0, 2)}
    for relpath, (dx, dy) in videos.items():
        target = root / "UCF101" / relpath
        target.parent.mkdir(parents=True)
        shutil.copyfile(moving_clip(dx=dx, dy=dy, frames=FRAMES), target)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 Archery\r\n")
    (lists / "trainlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1\r\nArchery/v_Archery_g01_c01.avi 2\r\n")
    (lists / "testlist01.txt").write_text("")

    code, summary = run_flow(capsys, "--root", str(root), "--dataset", "ucf101", "--method", "dis")
    assert code == 0 and summary["ok"] == 2
    assert (root / "flow" / "dis" / "UCF101" / "Archery" / "v_Archery_g01_c01.kflow").is_file()

    dataset = UCF101Dataset(root, 1, train=True, modalities=("flow",), flow_method="dis",
                            sampling=SamplingOptions(mode="center", num_frames=4),
                            spatial=SpatialOptions(None, None, "center", flip=False))
    assert len(dataset) == 2
    for item in range(2):
        sample = dataset[item]
        dx, dy = videos[next(v for v in videos if sample["clip_id"] in v)]
        x, y = interior_median(sample["flow"].permute(1, 2, 3, 0).numpy() * 20.0)
        assert abs(x - dx) <= 0.25 and abs(y - dy) <= 0.25


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "dis", "--tau", "0.3"], "--tau does not apply to --method dis"),
        (["--dataset", "ucf101", "--split", "train"], "--split applies to Kinetics only"),
        (["--method", "tvl1-torch", "--gamma", "0.2"], "gamma"),
        (["--warps", "0"], "warps"),
    ],
)
def test_bad_flags_fail_with_the_reason(tmp_path, capsys, argv, message):
    assert main(["flow", "--root", str(tmp_path), *argv]) == 1
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before touching the root


def test_help_has_worked_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["flow", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--method tvl1-torch" in text and "--median-filtering" in text


def test_hmdb51_folder_root_records_every_video_under_split_all(tmp_path, moving_clip, capsys):
    root = tmp_path / "hmdb"
    for relpath in ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", "cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0.avi"):
        (root / relpath).parent.mkdir(parents=True)
        shutil.copyfile(moving_clip(dx=1, dy=-1, frames=FRAMES), root / relpath)
    code, summary = run_flow(capsys, "--root", str(root), "--dataset", "hmdb51", "--method", "farneback")
    assert code == 0 and summary["ok"] == 2
    rows = CorpusIndex(root).flow_state("all", "farneback").to_pylist()
    assert sorted(r["path"] for r in rows) == [
        "flow/farneback/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.kflow",
        "flow/farneback/cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0.kflow",
    ]
    code, again = run_flow(capsys, "--root", str(root), "--dataset", "hmdb51", "--method", "farneback")
    assert (again["skipped"], again["ok"]) == (2, 0)  # flow/ and index/ are not mistaken for classes
