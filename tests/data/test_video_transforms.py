"""Transforms on video tensors: the functional core, the dict classes, and RGB/flow consistency."""

from __future__ import annotations

import pytest
import torch

from kinetics.data.transforms import (
    ApplyToKeys,
    CenterCrop,
    Compose,
    CropBox,
    RandomCrop,
    RandomHorizontalFlip,
    ResizeShortSide,
    SpatialOptions,
    ToUnitRange,
    apply_plan,
    center_crop_box,
    crop,
    hflip_flow,
    random_crop_box,
    resize_flow,
    resized_size,
    to_unit_range,
)


def _position_video(channels: int, frames: int = 3, height: int = 40, width: int = 60) -> torch.Tensor:
    """Pixel value = its column index (+ 1000 x row), the same in every channel and frame."""
    rows = torch.arange(height).view(height, 1) * 1000
    cols = torch.arange(width).view(1, width)
    return (rows + cols).float().expand(channels, frames, height, width).clone()


def test_resized_size_keeps_aspect():
    assert resized_size(240, 320, 256) == (256, 341)
    assert resized_size(720, 1280, 256) == (256, 455)
    assert resized_size(400, 300, 256) == (341, 256)


def test_crop_boxes_fit_and_align():
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        box = random_crop_box(256, 341, 224, generator=generator, align=2)
        assert box.fits(256, 341) and box.top % 2 == 0 and box.left % 2 == 0
    assert center_crop_box(256, 340, 224) == CropBox(16, 58, 224, 224)
    with pytest.raises(ValueError, match="does not fit"):
        random_crop_box(120, 160, 224)


def test_unit_range_is_i3d_scaling():
    out = to_unit_range(torch.tensor([0, 255, 127], dtype=torch.uint8))
    assert out.tolist()[:2] == [-1.0, 1.0] and abs(out[2].item() + 1 / 255) < 1e-6
    sample = ToUnitRange()({"rgb": torch.full((3, 1, 2, 2), 255, dtype=torch.uint8), "label": 3})
    assert sample["label"] == 3 and sample["rgb"].dtype == torch.float32 and sample["rgb"].max() == 1


def test_flip_negates_only_flow_x():
    flow = torch.zeros(2, 1, 2, 3)
    flow[0, 0, 0] = torch.tensor([0.1, 0.2, 0.3])  # x
    flow[1, 0, 0] = torch.tensor([0.4, 0.5, 0.6])  # y
    flipped = hflip_flow(flow)
    assert flipped[0, 0, 0].tolist() == pytest.approx([-0.3, -0.2, -0.1])
    assert flipped[1, 0, 0].tolist() == pytest.approx([0.6, 0.5, 0.4])
    assert flow[0, 0, 0, 0].item() == pytest.approx(0.1)  # the input is untouched


def test_resizing_flow_scales_displacements():
    flow = torch.full((2, 2, 8, 10), 0.1)
    flow[1] = 0.2
    out = resize_flow(flow, (16, 30))  # height x2, width x3
    assert out.shape == (2, 2, 16, 30)
    assert torch.allclose(out[0], torch.tensor(0.3)) and torch.allclose(out[1], torch.tensor(0.4))
    assert resize_flow(torch.full((2, 1, 4, 4), 0.9), (8, 8)).max() == 1.0  # clipped to the bound


def test_one_crop_and_flip_for_every_key():
    rgb, flow = _position_video(3), _position_video(2)
    transform = Compose([RandomCrop(24), RandomHorizontalFlip(p=1.0)])
    out = transform({"rgb": rgb, "flow": flow, "clip_id": "x"}, generator=torch.Generator().manual_seed(1))
    assert out["rgb"].shape == (3, 3, 24, 24) and out["clip_id"] == "x"
    assert torch.equal(out["rgb"][1], out["flow"][1])  # flow y got exactly the RGB crop and flip
    assert torch.equal(out["flow"][0], -out["rgb"][0])  # flow x was also negated
    cols = out["rgb"][0, 0, 0] % 1000
    assert (cols[:-1] > cols[1:]).all()  # flipped: columns now decrease


def test_random_crop_moves_with_the_generator():
    video = _position_video(3)
    corners = {RandomCrop(24)({"rgb": video}, generator=torch.Generator().manual_seed(s))["rgb"][0, 0, 0, 0].item()
               for s in range(10)}
    assert len(corners) > 3


def test_resize_and_centre_crop_classes():
    sample = {"rgb": _position_video(3, height=120, width=160), "flow": torch.full((2, 3, 120, 160), 0.1)}
    out = Compose([ResizeShortSide(256), CenterCrop(224)])(sample)
    assert out["rgb"].shape == (3, 3, 224, 224) and out["flow"].shape == (2, 3, 224, 224)
    assert torch.allclose(out["flow"][0], torch.tensor(0.1 * 341 / 160), atol=1e-5)  # x by the width ratio
    assert torch.allclose(out["flow"][1], torch.tensor(0.1 * 256 / 120), atol=1e-5)  # y by the height ratio
    doubled = ApplyToKeys(lambda t: t * 2, keys=("flow",))(out)
    assert torch.equal(doubled["flow"], out["flow"] * 2) and doubled["rgb"] is out["rgb"]


def test_spatial_plan_matches_the_classes():
    options = SpatialOptions(short_side_pixels=None, crop_pixels=24, crop="random", flip=True)
    video = _position_video(2)
    flips = set()
    for seed in range(12):
        plan = options.plan(40, 60, generator=torch.Generator().manual_seed(seed))
        out = apply_plan(video, plan, is_flow=True)
        expected = crop(video, plan.box)
        if plan.flip:
            expected = hflip_flow(expected)
        assert torch.equal(out, expected)
        flips.add(plan.flip)
    assert flips == {True, False}
    assert SpatialOptions.test().plan(256, 456).box == CropBox(16, 116, 224, 224)
    with pytest.raises(ValueError, match="crop must be one of"):
        SpatialOptions(crop="middle")
