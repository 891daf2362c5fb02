"""`torchrun` with two CPU processes (Gloo): DistributedDataParallel, sharded epochs, rank-0-only files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from kinetics.models.i3d import I3D
from kinetics.training.logbook import read_metrics


@pytest.mark.network_loopback  # torchrun --standalone rendezvous on 127.0.0.1
def test_two_processes_train_one_model_and_only_rank_0_writes(motion_corpus, tmp_path):
    out = tmp_path / "ddp"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "kinetics", "train", "--root", str(motion_corpus.root), "--out", str(out), "--device", "cpu",
            "--frames", "8", "--short-side-pixels", "none", "--crop-pixels", "32", "--batch-size", "2",
            "--epochs", "1", "--workers", "0", "--log-every-steps", "1", "--no-tensorboard", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)  # one summary: rank 0 alone prints
    # 6 clips over 2 ranks of 3, batch 2: one full batch per rank per epoch
    assert summary["steps"] == 1 and summary["clips_seen"] == 4
    records = read_metrics(out / "metrics.jsonl")
    assert [r["event"] for r in records].count("summary") == 1
    assert [r for r in records if r["event"] == "train"][0]["world_size"] == 2
    assert I3D.from_pretrained(out / "model.pt").num_classes == len(motion_corpus.classes)
    assert not any(p.name.startswith(".") for p in out.iterdir())  # no temporary file left behind
    assert torch.load(out / "last.pt", weights_only=True)["config"]["batch_size"] == 2
