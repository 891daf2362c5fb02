"""A clip's frames at the target rate, grey, chosen exactly as the RGB loader chooses them.

Target frame ``k`` is stored frame ``floor(k * stored_fps / target_fps)`` (``kinetics.data.timebase``,
with the index's ``fps`` and ``frames`` as the loader uses them), and a stored frame's number comes
from its timestamp, as in ``kinetics.data.decoding``; so flow field ``k`` (frame ``k`` to ``k + 1``)
lines up with the RGB frame ``k`` the loader returns. Grey is PyAV's ``gray`` conversion (full-range
luma, what ``cv2.cvtColor(RGB2GRAY)`` gives to within a level or two).
"""

from __future__ import annotations

import os

import numpy as np

from kinetics.errors import CorruptClipError


def read_grey_frames(
    path: str | os.PathLike, *, target_fps: float, stored_fps: float | None = None, stored_frames: int | None = None
) -> np.ndarray:
    """uint8 [N, H, W]: the clip's frames at ``target_fps``, chosen as the RGB loader chooses them.

    Stored frame ``i`` is the one shown at ``i / stored_fps`` (its index comes from its timestamp);
    each wanted index takes the latest frame at or before it, the last frame past the end.
    """
    import av

    from kinetics.data.timebase import stored_indices, target_frame_count

    path = str(path)
    fps, frames = stored_fps, stored_frames
    if not fps or not frames:
        from kinetics.data.decoding import probe_video  # imports torch: only when the index does not say

        info = probe_video(path)
        fps, frames = fps or info.fps, frames or info.frames
    wanted = stored_indices(np.arange(target_frame_count(frames, fps, target_fps)), fps, target_fps, frames)
    chosen: list[np.ndarray] = []
    previous = None  # the latest decoded frame, grey
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise CorruptClipError(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            ticks_to_frames = float(rate * stream.time_base) if rate and stream.time_base else 0.0
            start = stream.start_time or 0
            for number, frame in enumerate(container.decode(stream)):
                index = round((frame.pts - start) * ticks_to_frames) if frame.pts is not None and ticks_to_frames else number
                while len(chosen) < len(wanted) and wanted[len(chosen)] < index:  # shown before this frame
                    chosen.append(previous if previous is not None else frame.to_ndarray(format="gray"))
                previous = frame.to_ndarray(format="gray")
                while len(chosen) < len(wanted) and wanted[len(chosen)] == index:
                    chosen.append(previous)
                if len(chosen) == len(wanted):
                    break
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"cannot decode: {err}") from err
    if previous is None:
        raise CorruptClipError(path, "no frame decodes")
    chosen.extend([previous] * (len(wanted) - len(chosen)))  # past the end of the stream: the last frame
    return np.stack(chosen)
