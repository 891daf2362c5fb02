"""One rule for turning a stored clip into frames at a target rate, shared by loading and flow.

Frame ``k`` at the target rate is the stored frame ``floor(k * stored_fps / target_fps)``: the
latest stored frame at or before time ``k / target_fps``. RGB loading and flow extraction both use
these functions, so flow field ``k`` (from target frame ``k`` to ``k + 1``) lines up with RGB
frame ``k`` whatever rate the clip was stored at.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-6


def target_frame_count(stored_frames: int, stored_fps: float, target_fps: float) -> int:
    """How many target-rate frames a clip of ``stored_frames`` frames provides (at least 1 if any)."""
    if stored_frames <= 0:
        return 0
    if target_fps <= 0 or stored_fps <= 0:
        raise ValueError(f"frame rates must be positive, got stored {stored_fps}, target {target_fps}")
    return int(math.floor((stored_frames - 1) * target_fps / stored_fps + _EPS)) + 1


def stored_indices(target_indices, stored_fps: float, target_fps: float, stored_frames: int | None = None) -> np.ndarray:
    """Stored frame index for each target-rate frame index (clipped to the clip when its length is known)."""
    target = np.asarray(target_indices, dtype=np.int64)
    stored = np.floor(target * (stored_fps / target_fps) + _EPS).astype(np.int64)
    if stored_frames is not None:
        stored = np.clip(stored, 0, max(stored_frames - 1, 0))
    return stored
