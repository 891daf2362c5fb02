"""`kinetics features`: one 1024-d embedding per clip in Parquet, the same from one process or a pool of workers."""

from __future__ import annotations

import functools
import json
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from kinetics.cli.main import main
from kinetics.models.i3d import I3D
from kinetics.training.features import FEATURE_SCHEMA, embed_batch, load_worker_model
from tiny_runs import TINY_EVAL_FLAGS


def features(capsys, root, checkpoint, out, *extra: str) -> dict:
    code = main(["features", "--root", str(root), "--checkpoint", str(checkpoint), "--out", str(out),
                 *TINY_EVAL_FLAGS[:-2], "--batch-clips", "2", "--threads", "1", *extra, "--json"])  # no DataLoader: no --workers
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_one_split_gives_one_row_per_clip_with_a_fixed_size_embedding(motion_corpus, checkpoint_file, tmp_path, capsys):
    out = tmp_path / "val.parquet"
    summary = features(capsys, motion_corpus.root, checkpoint_file("rgb"), out, "--split", "val")
    table = pq.read_table(out)
    assert table.schema == FEATURE_SCHEMA
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 1024)
    assert summary["clips"] == table.num_rows == motion_corpus.val and summary["failed"] == []
    rows = table.to_pylist()
    assert {r["split"] for r in rows} == {"val"} and {r["label"] for r in rows} == set(motion_corpus.classes)
    assert all(motion_corpus.classes[r["label_index"]] == r["label"] for r in rows)
    # each row is I3D.embed of the clip (whole 16-frame clip, centre crop)
    from kinetics.data.dataset import KineticsDataset
    from kinetics.training.views import test_sampling, test_spatial

    dataset = KineticsDataset(motion_corpus.root, "val", sampling=test_sampling(frames=16),
                              spatial=test_spatial(short_side_pixels=None, crop_pixels=32))
    model = I3D.from_pretrained(checkpoint_file("rgb"))
    sample = dataset[0]
    with torch.inference_mode():
        expected = model.embed(sample["rgb"][None])[0].numpy()
    row = next(r for r in rows if r["clip_id"] == sample["clip_id"])
    np.testing.assert_allclose(np.array(row["embedding"], np.float32), expected, rtol=1e-4, atol=1e-5)


def test_a_pool_of_workers_writes_the_same_rows_as_one_process(motion_corpus, checkpoint_file, tmp_path, capsys):
    inline = features(capsys, motion_corpus.root, checkpoint_file("flow"), tmp_path / "a.parquet", "--flow-method", "dis")
    pooled = features(capsys, motion_corpus.root, checkpoint_file("flow"), tmp_path / "b.parquet", "--flow-method", "dis",
                      "--jobs", "2")
    assert inline["clips"] == pooled["clips"] == motion_corpus.train + motion_corpus.val
    assert inline["splits"] == ["train", "val"]
    a = {r["clip_id"]: r["embedding"] for r in pq.read_table(tmp_path / "a.parquet").to_pylist()}
    b = {r["clip_id"]: r["embedding"] for r in pq.read_table(tmp_path / "b.parquet").to_pylist()}
    assert a.keys() == b.keys()
    for clip_id in a:
        np.testing.assert_allclose(a[clip_id], b[clip_id], rtol=1e-4, atol=1e-5)


def test_the_unit_of_work_and_its_setup_hook_pickle():
    from kinetics.training.features import FeatureJob
    from kinetics.training.options import TestInput

    job = FeatureJob("/r", "ckpt.pt", "rgb", TestInput(frames=16, short_side_pixels=None, crop_pixels=32), "cpu", "fp32",
                     1, None, None)
    for fn in (functools.partial(embed_batch, job=job), functools.partial(load_worker_model, job)):
        assert pickle.loads(pickle.dumps(fn)).func is fn.func
