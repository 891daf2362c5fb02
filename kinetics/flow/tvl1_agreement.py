"""What "the same TV-L1 flow as OpenCV" means, as a measurement: the rule of issue 10.

TV-L1 with its stopping rule is chaotic on fast motion: changing ONE pixel of the first frame by
ONE grey level moves OpenCV's own flow by up to ~0.2 px mean end-point error (``shared/notes/
tvl1.md`` section 5). So an implementation is *faithful* on a pair when its mean end-point error
to OpenCV is at most 1.5 x OpenCV's own sensitivity on that pair (the median over a few pixel
positions of the change a one-grey-level nudge causes) + 0.005 px; and, with a short fixed budget
and the stopping rule off (``FIXED_BUDGET``), at most 0.002 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinetics.flow.params import TVL1Params

FIXED_BUDGET = TVL1Params(epsilon=0.0, warps=2, outer_iterations=3)  # stopping rule off, short budget
FIXED_BUDGET_TOLERANCE = 0.002  # px, mean end-point error
SENSITIVITY_FACTOR = 1.5
SENSITIVITY_SLACK = 0.005  # px
DEFAULTS = TVL1Params()  # OpenCV's defaults


@dataclass(frozen=True)
class Agreement:
    """Mean end-point error to OpenCV on one pair, OpenCV's own sensitivity there, and the verdict."""

    epe: float
    floor: float  # OpenCV's median change under a one-grey-level nudge of one pixel
    within_01: float  # share of pixels within 0.1 px of OpenCV

    @property
    def bound(self) -> float:
        return SENSITIVITY_FACTOR * self.floor + SENSITIVITY_SLACK

    @property
    def faithful(self) -> bool:
        return self.epe <= self.bound


def end_point_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel end-point error between two flows [..., 2], in float64."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return np.sqrt((diff**2).sum(-1))


def opencv_tvl1(frame0: np.ndarray, frame1: np.ndarray, params: TVL1Params = DEFAULTS) -> np.ndarray:
    """OpenCV's ``DualTVL1OpticalFlow`` on one grey pair (a fresh object: OpenCV lowers nscales for good)."""
    import cv2

    p = params
    solver = cv2.optflow.DualTVL1OpticalFlow_create(
        p.tau, p.lambda_, p.theta, p.nscales, p.warps, p.epsilon,
        p.inner_iterations, p.outer_iterations, p.scale_step, p.gamma, p.median_filtering, False,
    )  # positional: OpenCV spells the keyword "innnerIterations"
    return solver.calc(frame0, frame1, None)


def nudge_positions(height: int, width: int, count: int = 3) -> list[tuple[int, int]]:
    """``count`` fixed interior pixel positions spread over the frame (deterministic)."""
    return [(int(height * (k + 1) / (count + 1)), int(width * (2 * k + 1) / (2 * count))) for k in range(count)]


def opencv_sensitivity(
    frame0: np.ndarray, frame1: np.ndarray, params: TVL1Params = DEFAULTS, *, reference: np.ndarray | None = None,
    count: int = 3,
) -> float:
    """Median over ``count`` positions of OpenCV's mean flow change when one pixel of ``frame0`` moves one grey level."""
    reference = opencv_tvl1(frame0, frame1, params) if reference is None else reference
    changes = []
    for y, x in nudge_positions(*frame0.shape, count):
        nudged = frame0.copy()
        nudged[y, x] = nudged[y, x] + 1 if nudged[y, x] < 255 else 254
        changes.append(float(end_point_error(opencv_tvl1(nudged, frame1, params), reference).mean()))
    return float(np.median(changes))


def agreement(flow: np.ndarray, reference: np.ndarray, floor: float) -> Agreement:
    epe = end_point_error(flow, reference)
    return Agreement(epe=float(epe.mean()), floor=floor, within_01=float((epe < 0.1).mean()))
