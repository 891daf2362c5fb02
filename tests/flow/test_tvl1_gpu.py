"""The batched PyTorch TV-L1 on a GPU, by issue 10's rule against OpenCV (run with ``-m gpu`` on a CUDA machine).

Unmeasured so far: no CUDA device was available where this was written. The same code path runs
on CPU torch in ``test_tvl1_torch.py``; the benchmark row is ``benchmarks/flow_methods.py --device cuda``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from kinetics.flow.tvl1 import tvl1_flow
from kinetics.flow.tvl1_agreement import (
    FIXED_BUDGET,
    FIXED_BUDGET_TOLERANCE,
    agreement,
    opencv_sensitivity,
    opencv_tvl1,
)

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.fixture(scope="module")
def pairs(cricket_grey) -> list[tuple[np.ndarray, np.ndarray]]:
    frames = [cv2.resize(f, (340, 256), interpolation=cv2.INTER_LINEAR) for f in cricket_grey[[10, 11, 40, 41]]]
    return [(frames[0], frames[1]), (frames[2], frames[3])]


@pytest.mark.parametrize("compiled", [False, True])
def test_cuda_batch_is_faithful_to_opencv_by_the_sensitivity_rule(pairs, compiled):
    first = torch.from_numpy(np.stack([a for a, _ in pairs])).cuda()
    second = torch.from_numpy(np.stack([b for _, b in pairs])).cuda()
    flows = tvl1_flow(first, second, compiled=compiled).flow.cpu().numpy()
    fixed = tvl1_flow(first, second, params=FIXED_BUDGET, compiled=compiled).flow.cpu().numpy()
    for (a, b), flow, short in zip(pairs, flows, fixed):
        reference = opencv_tvl1(a, b)
        verdict = agreement(flow, reference, opencv_sensitivity(a, b, reference=reference))
        assert verdict.faithful, verdict
        assert agreement(short, opencv_tvl1(a, b, FIXED_BUDGET), 0.0).epe <= FIXED_BUDGET_TOLERANCE


def test_a_pair_gets_the_same_flow_alone_or_in_a_batch_of_64(pairs):
    a, b = pairs[0]
    alone = tvl1_flow(torch.from_numpy(a)[None].cuda(), torch.from_numpy(b)[None].cuda())
    batch = tvl1_flow(torch.from_numpy(np.stack([a] * 64)).cuda(), torch.from_numpy(np.stack([b] * 64)).cuda())
    assert int(batch.iterations[17]) == int(alone.iterations[0])
    assert float((batch.flow[17] - alone.flow[0]).abs().max()) <= 1e-4
