"""Optical flow between consecutive frames, behind one function: ``compute_flow(frames, method=...)``.

Methods:

* ``tvl1`` - the flow of the I3D paper: OpenCV's Dual TV-L1 with its defaults, computed by the
  fastest faithful implementation available (``resolve_method``): ``tvl1-numba`` where numba
  imports and gamma is 0, else ``tvl1-opencv``. Files record which one made them.
* ``tvl1-numba`` - OpenCV's algorithm, float operations and stopping rule in fused numba kernels
  (``kinetics.flow.tvl1_numba``): OpenCV's flow (bit-identical on the real pairs measured) at
  about a third of its CPU time; threads take whole pairs.
* ``tvl1-opencv`` - OpenCV's own ``cv2.optflow.DualTVL1OpticalFlow`` (CPU), the reference.
* ``tvl1-torch`` - the same algorithm in batched PyTorch (``kinetics.flow.tvl1``): OpenCV's flow
  to within OpenCV's own sensitivity on the CPU; the path for GPUs.
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

Method = Literal["tvl1", "tvl1-numba", "tvl1-opencv", "tvl1-torch", "dis", "farneback"]
METHODS: tuple[str, ...] = get_args(Method)
TVL1_METHODS: tuple[str, ...] = ("tvl1", "tvl1-numba", "tvl1-opencv", "tvl1-torch")


FlowParams = Union[TVL1Params, DISParams, FarnebackParams]
_PARAMS_FOR = {**{name: TVL1Params for name in TVL1_METHODS}, "dis": DISParams, "farneback": FarnebackParams}


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
    if method in ("tvl1-torch", "tvl1-numba") and params.gamma != 0:
        raise ValueError(f"{method} does not implement the illumination term: use gamma=0 or method 'tvl1-opencv'")
    return params


def resolve_method(method: Method, params: FlowParams | None = None) -> str:
    """The implementation that computes ``method``: ``tvl1`` becomes the fastest faithful TV-L1 here.

    That is ``tvl1-numba`` (OpenCV's flow at ~1/3 of its CPU time), unless the parameters ask for
    what only OpenCV implements (gamma > 0) or numba does not import; then ``tvl1-opencv``.
    """
    if check_method(method) != "tvl1":
        return method
    if params is not None and getattr(params, "gamma", 0) != 0:
        return "tvl1-opencv"
    try:
        import numba  # noqa: F401
    except ImportError:
        return "tvl1-opencv"
    return "tvl1-numba"


def implementation_record(method: Method, params: FlowParams | None = None) -> dict:
    """Which implementation (and software versions) computes ``method``: stored in flow files and the index."""
    from kinetics import __version__

    implementation = resolve_method(method, params)
    record = {"kinetics": __version__, "implementation": implementation}
    if implementation == "tvl1-torch":
        import torch

        record["torch"] = torch.__version__
        return record
    import cv2

    record["opencv"] = cv2.__version__  # tvl1-numba calls OpenCV's resize, remap and median too
    if implementation == "tvl1-numba":
        import numba

        from kinetics.flow.tvl1_numba import VERSION

        record.update(numba=numba.__version__, tvl1_numba=VERSION)
    return record


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
    threads: int | None = None,
) -> np.ndarray:
    """Flow between consecutive frames: float32 pixels [T - 1, H, W, 2] (channel 0 = x, 1 = y).

    Args:
        frames: uint8 [T, H, W] grey or [T, H, W, 3] RGB (NumPy or torch), T >= 2.
        device: torch device for ``tvl1-torch`` (default: CUDA when available, else CPU).
        batch_size: frame pairs per ``tvl1-torch`` batch.
        compiled: fuse ``tvl1-torch``'s inner loop with ``torch.compile`` (default: on a GPU only,
            falling back to eager PyTorch with a warning if compiling fails).
        threads: frame pairs ``tvl1-numba`` computes at once (default: OpenCV's thread count,
            ``cv2.getNumThreads()``, which ``kinetics flow`` sets per worker).
    """
    params = check_params(method, params)
    method = resolve_method(method, params)
    grey = to_grey(frames)
    if grey.shape[0] < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got {grey.shape[0]}")
    if method == "tvl1-torch":
        return _torch_tvl1(grey, params, device=device, batch_size=batch_size, compiled=compiled)
    if method == "tvl1-numba":
        from kinetics.flow.tvl1_numba import tvl1_video

        if threads is None:
            import cv2

            threads = max(1, cv2.getNumThreads())
        return tvl1_video(grey, params, threads=threads)
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

    if method == "tvl1-opencv":
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
