"""`kinetics evaluate` lines the corpus's classes up with the checkpoint's: a corpus of some Kinetics classes (here a
custom manifest of 3 Kinetics-400 names, in its own order) is mapped by name and scored over those classes."""

from __future__ import annotations

import json

import motion_corpus as motion
import pyarrow.parquet as pq
import pytest
import torch
from tiny_runs import FRAMES, SIZE, TINY_EVAL_FLAGS

from kinetics.cli.main import main
from kinetics.models.i3d import I3D
from kinetics.models.ports import to_port
from kinetics.models.registry import get_checkpoint

KINETICS_NAMES = {"playing cricket": (-2, 0), "abseiling": (2, 0), "robot dancing": (0, 0)}  # label_index 0, 1, 2


@pytest.fixture(scope="module")
def kinetics_named_corpus(tmp_path_factory):
    motion.MOTIONS.update(KINETICS_NAMES)
    try:
        root = tmp_path_factory.mktemp("named") / "corpus"
        motion.build_motion_corpus(root, clips_per_class={"val": 1}, classes=tuple(KINETICS_NAMES), frames=FRAMES,
                                   width=SIZE, height=SIZE)
    finally:
        for name in KINETICS_NAMES:
            motion.MOTIONS.pop(name)
    return root


@pytest.mark.network_loopback
def test_a_corpus_of_some_kinetics_classes_is_mapped_by_name_and_scored_over_them(kinetics_named_corpus, serve,
                                                                                  tmp_path, capsys):
    spec = get_checkpoint("i3d_inception.deepmind_rgb_imagenet")
    server = serve()
    torch.manual_seed(0)
    torch.save(to_port(I3D(spec.num_classes).state_dict(), spec.port), server.directory / spec.filename)
    out = tmp_path / "predictions.parquet"
    code = main(["evaluate", "--root", str(kinetics_named_corpus), "--checkpoint", spec.name, "--base-url",
                 server.url("files"), "--predictions", str(out), *TINY_EVAL_FLAGS, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["classes"] == "3 of the checkpoint's 400 classes, mapped by name"
    rgb = report["metrics"]["rgb"]
    assert len(rgb["confusion"]) == 3 and rgb["clips"] == 3  # over the corpus's classes
    assert {c["class"] for c in rgb["per_class"]} == set(KINETICS_NAMES)
    assert set(report["all_classes"]["rgb"]) == {"top1", "top5"}
    rows = pq.read_table(out).to_pylist()
    assert sorted(r["label_index"] for r in rows) == [0, 227, 277]  # the checkpoint's indices of the names
    assert all(r["label"] in KINETICS_NAMES for r in rows)
    covered = [0, 227, 277]
    restricted = [covered[int(torch.tensor(r["logits_rgb"])[covered].argmax())] == r["label_index"] for r in rows]
    assert rgb["top1"] == sum(restricted) / 3
    assert report["all_classes"]["rgb"]["top1"] == sum(r["correct"] for r in rows) / 3


def test_a_file_of_another_class_count_that_does_not_name_its_classes_is_refused(motion_corpus, checkpoint_file,
                                                                                  capsys):
    code = main(["evaluate", "--root", str(motion_corpus.root), "--checkpoint", str(checkpoint_file("rgb", classes=7)),
                 *TINY_EVAL_FLAGS])
    err = capsys.readouterr().err
    assert code == 1 and "has 7 classes (names unknown" in err and "has 3 ('moving_left'" in err
