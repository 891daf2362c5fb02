"""A checkpoint's classifier is reused only for the same classes in the same order, and runs record their class names."""

from __future__ import annotations

import torch

from kinetics.models.i3d import I3D
from kinetics.training.initialise import build_model


def saved_checkpoint(tmp_path, classes):
    torch.manual_seed(0)
    model = I3D(len(classes), in_channels=3)
    path = tmp_path / "run.pt"
    torch.save({"state_dict": model.state_dict(), "classes": list(classes)}, path)
    return path, model.logits.weight.detach().clone()


def test_the_same_classes_keep_the_checkpoints_classifier(tmp_path):
    path, weight = saved_checkpoint(tmp_path, ["a", "b", "c"])
    model = build_model(stream="rgb", init="checkpoint", num_classes=3, init_weights=path, class_names=["a", "b", "c"])
    assert torch.equal(model.logits.weight, weight)
    assert model.classes == ("a", "b", "c")


def test_an_equal_count_of_other_classes_gets_a_fresh_classifier(tmp_path):
    path, weight = saved_checkpoint(tmp_path, ["a", "b", "c"])
    model = build_model(stream="rgb", init="checkpoint", num_classes=3, init_weights=path, class_names=["c", "b", "a"])
    assert not torch.equal(model.logits.weight, weight)
    assert model.classes == ("c", "b", "a")


def test_a_training_checkpoint_records_the_class_names(tmp_path):
    from kinetics.models.checkpoints import open_checkpoint
    from kinetics.training.checkpointing import Position, save_training_state

    model = I3D(2, in_channels=3)
    model.classes = ("left", "right")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    path = save_training_state(tmp_path / "last.pt", model=model, optimizer=optimizer, schedule=schedule,
                               scaler=torch.amp.GradScaler("cpu", enabled=False), position=Position(0, 0, 0),
                               config={}, best_val_loss=None)
    assert open_checkpoint(path).classes == ("left", "right")
