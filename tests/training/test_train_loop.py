"""The training loop on CPU: loss goes down, resumption is exact, runs are protected, every init works."""

from __future__ import annotations

import json

import pytest
import torch

from tiny_runs import TINY
from kinetics.cli.main import main
from kinetics.errors import CheckpointError
from kinetics.models.i3d import I3D
from kinetics.models.inception2d import InceptionV1
from kinetics.training.config import ConfigError, TrainConfig
from kinetics.training.initialise import build_model
from kinetics.training.logbook import read_metrics
from kinetics.training.train import train


def config(corpus, out, **changes) -> TrainConfig:
    return TrainConfig(root=corpus.root, out=out, **{**TINY, **changes})


def train_losses(out) -> list[float]:
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if r["event"] == "train"]


def test_a_few_full_batch_steps_lower_the_loss_and_log_what_they_did(motion_corpus, tmp_path):
    out = tmp_path / "run"
    summary = train(config(motion_corpus, out, batch_size=6, epochs=8, lr=0.01, dropout=0.0, val_split=None),
                    progress=False)
    losses = train_losses(out)
    assert summary.steps == len(losses) == 8
    assert sum(losses[-3:]) / 3 < losses[0] and min(losses) < 0.5 * losses[0]
    records = read_metrics(out / "metrics.jsonl")
    steps = [r for r in records if r["event"] == "train"]
    assert all(0.0 <= r["data_wait_fraction"] <= 1.0 and r["clips_per_second"] > 0 for r in steps)
    assert records[-1]["event"] == "summary" and records[-1]["steps"] == 8
    assert 0.0 <= summary.data_wait_fraction <= 1.0 and summary.clips_seen == 8 * 6
    model = I3D.from_pretrained(out / "model.pt")  # the final weights are a plain checkpoint
    assert model.num_classes == len(motion_corpus.classes)


def test_resuming_after_k_steps_gives_the_weights_of_an_uninterrupted_run(motion_corpus, tmp_path):
    """6 clips, batch 2: 3 steps per epoch; stopping at step 2 and resuming crosses an epoch end (validation, plateau)."""
    base = config(motion_corpus, tmp_path / "direct", batch_size=2, epochs=2, max_steps=5, lr=0.01)
    train(base, progress=False)
    train(base.replace(out=tmp_path / "resumed", max_steps=2), progress=False)
    summary = train(base.replace(out=tmp_path / "resumed", resume=True), progress=False)
    assert summary.resumed_from_step == 2 and summary.steps == 5
    direct = torch.load(tmp_path / "direct" / "model.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)
    assert direct.keys() == resumed.keys()
    assert all(torch.equal(direct[k], resumed[k]) for k in direct), "resumed weights differ"
    assert train_losses(tmp_path / "direct")[2:] == train_losses(tmp_path / "resumed")[2:]
    assert 0 < train_losses(tmp_path / "direct")[2]


def test_a_finished_run_is_not_overwritten_nor_resumed_with_other_settings(motion_corpus, tmp_path, capsys):
    argv = ["train", "--root", str(motion_corpus.root), "--out", str(tmp_path / "run"), "--frames", "8",
            "--short-side-pixels", "none", "--crop-pixels", "32", "--workers", "0", "--batch-size", "3",
            "--max-steps", "1", "--val-split", "none", "--no-tensorboard", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 1 and summary["train_clips"] == motion_corpus.train
    assert main(argv) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert main([*argv, "--resume", "--lr", "0.5"]) == 1
    assert "other settings (lr)" in capsys.readouterr().err


def test_the_flow_stream_trains_on_the_corpus_flow(motion_corpus, tmp_path):
    summary = train(config(motion_corpus, tmp_path / "flow", stream="flow", flow_method="dis", batch_size=3,
                           max_steps=2, val_split=None), progress=False)
    assert summary.steps == 2 and summary.final_loss > 0
    assert I3D.from_pretrained(summary.model).in_channels == 2


def test_imagenet2d_init_inflates_a_googlenet_state_dict(tmp_path):
    torch.manual_seed(0)
    state = InceptionV1(num_classes=1000).state_dict()
    path = tmp_path / "googlenet.pth"
    torch.save(state, path)
    model = build_model(stream="rgb", init="imagenet2d", init_weights=path, num_classes=3)
    reference = I3D.from_2d(state, num_classes=3)
    ours, theirs = model.state_dict(), reference.state_dict()
    inflated = [k for k in ours if not k.startswith("logits")]
    assert all(torch.equal(ours[k], theirs[k]) for k in inflated)
    assert model.training


def test_checkpoint_init_keeps_the_backbone_and_replaces_a_foreign_classifier(checkpoint_file):
    path = checkpoint_file("rgb", classes=5)
    model = build_model(stream="rgb", init="checkpoint", init_weights=str(path), num_classes=3)
    saved = torch.load(path, weights_only=True)
    assert model.num_classes == 3
    assert torch.equal(model.state_dict()["Mixed_5c.b0.conv.weight"], saved["Mixed_5c.b0.conv.weight"])
    with pytest.raises(CheckpointError, match="flow stream needs 2"):
        build_model(stream="flow", init="checkpoint", init_weights=str(path), num_classes=3)


def test_labels_outside_the_classifier_and_a_missing_init_file_are_caught_up_front(motion_corpus, tmp_path):
    with pytest.raises(Exception, match="label_index 2, but the model has 2 classes"):
        train(config(motion_corpus, tmp_path / "few", classes=2, max_steps=1), progress=False)
    with pytest.raises(ConfigError, match="needs --init-weights"):
        config(motion_corpus, tmp_path / "x", init="checkpoint")


@pytest.mark.gpu
def test_mixed_precision_on_cuda_trains_and_saves_the_scaler(motion_corpus, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    summary = train(config(motion_corpus, tmp_path / "amp", device="cuda", precision="amp", batch_size=3, max_steps=2,
                           val_split=None), progress=False)
    assert summary.steps == 2
    state = torch.load(tmp_path / "amp" / "last.pt", weights_only=True)
    assert state["scaler"]["scale"] > 0


def test_amp_is_refused_on_cpu(motion_corpus, tmp_path):
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        train(config(motion_corpus, tmp_path / "cpu", device="cpu", precision="amp", max_steps=1), progress=False)
