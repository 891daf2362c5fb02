"""Key names of the PyTorch ports: round trips, the names the notes list, and loud failures."""

from __future__ import annotations

import pytest
import torch

from kinetics.errors import CheckpointError
from kinetics.models.i3d import I3D
from kinetics.models.ports import PORTS, detect_port, from_port, port_key, to_port


@pytest.fixture(scope="module")
def template() -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return I3D(400).state_dict()


@pytest.fixture(scope="module")
def ours(template, random_state_dict) -> dict[str, torch.Tensor]:
    return random_state_dict(template, seed=3)


@pytest.mark.parametrize("port", PORTS)
def test_round_trip_gives_identical_tensors(port, ours, template):
    theirs = to_port(ours, port)
    assert len(theirs) == len(ours) == 344
    assert detect_port(theirs) == port
    back = from_port(theirs, port=port, template=template)
    assert list(back) == list(ours)
    assert all(torch.equal(back[key], ours[key]) for key in ours)


@pytest.mark.parametrize(
    ("port", "names"),
    [
        ("pytorch_i3d", [
            "Conv3d_1a_7x7.conv3d.weight", "Conv3d_1a_7x7.bn.running_var", "Conv3d_2c_3x3.bn.weight",
            "Mixed_3b.b0.conv3d.weight", "Mixed_5b.b2b.bn.bias", "Mixed_5c.b3b.conv3d.weight",
            "logits.conv3d.weight", "logits.conv3d.bias",
        ]),
        ("kinetics_i3d_pytorch", [
            "conv3d_1a_7x7.conv3d.weight", "conv3d_1a_7x7.batch3d.running_mean", "conv3d_2b_1x1.batch3d.weight",
            "mixed_3b.branch_0.conv3d.weight", "mixed_3b.branch_1.0.batch3d.bias", "mixed_4f.branch_1.1.conv3d.weight",
            "mixed_5b.branch_2.0.conv3d.weight", "mixed_5b.branch_2.1.batch3d.running_var",
            "mixed_5c.branch_3.1.conv3d.weight", "conv3d_0c_1x1.conv3d.weight", "conv3d_0c_1x1.conv3d.bias",
        ]),
    ],
)
def test_port_names_are_the_ones_their_files_use(port, names, ours):
    theirs = to_port(ours, port)
    assert set(names) <= set(theirs)
    assert theirs[names[-2]].shape == (400, 1024, 1, 1, 1)


@pytest.mark.parametrize("port", PORTS)
def test_files_without_num_batches_tracked_load(port, ours, template):
    legacy = {k: v for k, v in to_port(ours, port).items() if not k.endswith("num_batches_tracked")}
    assert len(legacy) == 344 - 57
    back = from_port(legacy, port=port, template=template)
    assert len(back) == 344 and int(back["Mixed_4d.b1a.bn.num_batches_tracked"]) == 0
    assert torch.equal(back["Mixed_4d.b1a.bn.running_mean"], ours["Mixed_4d.b1a.bn.running_mean"])


@pytest.mark.parametrize("port", ["pytorch_i3d", "kinetics_i3d_pytorch"])
def test_missing_extra_and_misshaped_keys_are_all_named(port, ours, template):
    theirs = to_port(ours, port)
    missing, misshaped = port_key("Mixed_4e.b2b.bn.running_var", port), port_key("Mixed_3c.b1a.conv.weight", port)
    del theirs[missing]
    theirs["Mixed_9z.b0.conv3d.weight"] = torch.zeros(1)
    theirs[misshaped] = torch.zeros(128, 257, 1, 1, 1)
    with pytest.raises(CheckpointError) as caught:
        from_port(theirs, port=port, template=template, source="rgb.pt")
    message = str(caught.value)
    assert message.startswith("rgb.pt: ")
    assert f"missing (1): {missing}" in message
    assert "unexpected (1): Mixed_9z.b0.conv3d.weight" in message
    assert f"{misshaped}: (128, 257, 1, 1, 1) in the file, (128, 256, 1, 1, 1) expected" in message


def test_a_file_of_another_class_count_is_refused_by_shape(ours):
    with torch.device("meta"):
        template_157 = I3D(157).state_dict()
    with pytest.raises(CheckpointError, match=r"logits.conv3d.weight: \(400, 1024, 1, 1, 1\) in the file"):
        from_port(to_port(ours, "pytorch_i3d"), port="pytorch_i3d", template=template_157)


def test_unknown_naming_is_refused():
    with pytest.raises(CheckpointError, match="not an I3D state dict.*fc.weight"):
        detect_port({"fc.weight": torch.zeros(1)}, source="resnet.pth")
    with pytest.raises(ValueError, match="'tensorflow'"):
        to_port({}, "tensorflow")  # type: ignore[arg-type]
