"""Optical flow between consecutive frames, behind one function: ``compute_flow(frames, method=...)``.

Methods:

* ``tvl1`` - OpenCV's Dual TV-L1 (``cv2.optflow``, CPU): the flow of the I3D paper; slow (~1 s a
  pair at 340x256 on one core).
* ``tvl1-torch`` - the same algorithm in batched PyTorch (``kinetics.flow.tvl1``): same flow on
  the CPU to float noise (~0.01 px mean end-point error), fast on a GPU.
* ``dis`` - OpenCV's DIS (dense inverse search), tens to hundreds of times faster, coarser.
* ``farneback`` - OpenCV's Farneback polynomial expansion.

Convention for every method: field ``t`` is the motion from frame ``t`` to frame ``t + 1`` in
pixels of the input frames, channel 0 = x (to the right), channel 1 = y (down), so that
``frame_t[y, x] ~ frame_t+1[y + fy, x + fx]``. Frames are converted to grey first.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Literal, Union, get_args

import numpy as np

from kinetics.flow.params import DIS_PRESETS, DISParams, DISPreset, FarnebackParams, TVL1Params  # noqa: F401  (re-exported)

Method = Literal["tvl1", "tvl1-torch", "dis", "farneback"]
METHODS: tuple[str, ...] = get_args(Method)


FlowParams = Union[TVL1Params, DISParams, FarnebackParams]
_PARAMS_FOR = {"tvl1": TVL1Params, "tvl1-torch": TVL1Params, "dis": DISParams, "farneback": FarnebackParams}


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"flow method must be one of {METHODS}, got {method!r}")
    return method


def default_params(method: Method) -> FlowParams:
    return _PARAMS_FOR[check_method(method)]()


def check_params(method: Method, params: FlowParams | None) -> FlowParams:
    """``params`` if it fits ``method`` (the method's defaults when None); a clear error otherwise."""
    expected = _PARAMS_FOR[check_method(method)]
    if params is None:
        return expected()
    if not isinstance(params, expected):
        raise TypeError(f"method {method!r} takes {expected.__name__}, got {type(params).__name__}")
    if method == "tvl1-torch" and params.gamma != 0:
        raise ValueError("tvl1-torch does not implement the illumination term: use gamma=0 or method 'tvl1'")
    return params


def params_to_dict(params: FlowParams) -> dict:
    """The parameters as stored in flow files and the index (JSON-ready)."""
    return asdict(params)


def params_from_dict(method: Method, values: dict) -> FlowParams:
    expected = _PARAMS_FOR[check_method(method)]
    known = {f.name for f in fields(expected)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {method} parameters {unknown} (known: {sorted(known)})")
    return expected(**values)


def compute_flow(
    frames,
    *,
    method: Method = "tvl1",
    params: FlowParams | None = None,
    device: str | None = None,
    batch_size: int = 32,
    compiled: bool | None = None,
) -> np.ndarray:
    """Flow between consecutive frames: float32 pixels [T - 1, H, W, 2] (channel 0 = x, 1 = y).

    Args:
        frames: uint8 [T, H, W] grey or [T, H, W, 3] RGB (NumPy or torch), T >= 2.
        device: torch device for ``tvl1-torch`` (default: CUDA when available, else CPU).
        batch_size: frame pairs per ``tvl1-torch`` batch.
        compiled: fuse ``tvl1-torch``'s inner loop with ``torch.compile`` (default: on a GPU only,
            falling back to eager PyTorch with a warning if compiling fails).
    """
    params = check_params(method, params)
    grey = to_grey(frames)
    if grey.shape[0] < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got {grey.shape[0]}")
    if method == "tvl1-torch":
        return _torch_tvl1(grey, params, device=device, batch_size=batch_size, compiled=compiled)
    pair_flow = _opencv_method(method, params)
    out = np.empty((grey.shape[0] - 1, *grey.shape[1:], 2), dtype=np.float32)
    for t in range(grey.shape[0] - 1):
        out[t] = pair_flow(grey[t], grey[t + 1])
    return out


def to_grey(frames) -> np.ndarray:
    """uint8 [T, H, W] from grey [T, H, W] or RGB [T, H, W, 3] frames (BT.601 luma, as OpenCV)."""
    if type(frames).__module__.startswith("torch"):
        frames = frames.detach().cpu().numpy()
    array = np.asarray(frames)
    if array.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {array.dtype}")
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if array.ndim == 4 and array.shape[3] == 3:
        import cv2

        return np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in array])
    if array.ndim != 3:
        raise ValueError(f"frames must be [T, H, W] grey or [T, H, W, 3] RGB, got shape {array.shape}")
    return np.ascontiguousarray(array)


def _opencv_method(method: str, params: FlowParams):
    """A function (frame0, frame1) -> [H, W, 2]; a fresh OpenCV object per call of compute_flow.

    Fresh because OpenCV's TV-L1 permanently lowers its ``nscales`` after one small frame.
    """
    import cv2

    if method == "tvl1":
        p = params
        solver = cv2.optflow.DualTVL1OpticalFlow_create(
            p.tau, p.lambda_, p.theta, p.nscales, p.warps, p.epsilon,
            p.inner_iterations, p.outer_iterations, p.scale_step, p.gamma, p.median_filtering, False,
        )  # positional: OpenCV spells the keyword "innnerIterations"
        return lambda a, b: solver.calc(a, b, None)
    if method == "dis":
        preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                  "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[params.preset]
        solver = cv2.DISOpticalFlow_create(preset)
        return lambda a, b: solver.calc(a, b, None)
    p = params
    return lambda a, b: cv2.calcOpticalFlowFarneback(
        a, b, None, p.pyr_scale, p.levels, p.winsize, p.iterations, p.poly_n, p.poly_sigma, 0
    )


def _torch_tvl1(grey: np.ndarray, params: TVL1Params, *, device: str | None, batch_size: int, compiled: bool | None) -> np.ndarray:
    import torch

    from kinetics.flow.tvl1 import tvl1_flow

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    fused = (target.type == "cuda" and not _COMPILE_FAILED) if compiled is None else compiled
    frames = torch.from_numpy(grey).to(target)
    out = np.empty((grey.shape[0] - 1, *grey.shape[1:], 2), dtype=np.float32)
    for start in range(0, grey.shape[0] - 1, batch_size):
        stop = min(start + batch_size, grey.shape[0] - 1)
        pair = (frames[start:stop], frames[start + 1 : stop + 1])
        try:
            result = tvl1_flow(*pair, params=params, compiled=fused)
        except Exception as err:  # noqa: BLE001 - torch.compile's failures have no common base class
            if not (fused and compiled is None):
                raise
            _note_compile_failure(err)
            fused = False
            result = tvl1_flow(*pair, params=params, compiled=False)
        out[start:stop] = result.flow.cpu().numpy()
    return out


_COMPILE_FAILED = False


def _note_compile_failure(err: Exception) -> None:
    """Remember (per process) that torch.compile does not work here, and say so once."""
    global _COMPILE_FAILED
    import warnings

    _COMPILE_FAILED = True
    warnings.warn(f"torch.compile failed, tvl1-torch runs eagerly (slower): {type(err).__name__}: {err}", RuntimeWarning, stacklevel=3)
