"""A clip's frames at the target rate, grey, chosen exactly as the RGB loader chooses them.

Target frame ``k`` is stored frame ``floor(k * stored_fps / target_fps)`` (``kinetics.data.timebase``,
with the index's ``fps`` and ``frames`` as the loader uses them), and stored frames are picked by
their timestamps with ``kinetics.data.decoding.match_frames``, as the loader picks them; so flow
field ``k`` (frame ``k`` to ``k + 1``) lines up with the RGB frame ``k`` the loader returns. Grey is
PyAV's ``gray`` conversion (full-range luma, what ``cv2.cvtColor(RGB2GRAY)`` gives to within a
level or two).
"""

from __future__ import annotations

import os

import numpy as np

from kinetics.errors import CorruptClipError


def read_grey_frames(
    path: str | os.PathLike, *, target_fps: float, stored_fps: float | None = None, stored_frames: int | None = None
) -> np.ndarray:
    """uint8 [N, H, W]: the clip's frames at ``target_fps``, chosen as the RGB loader chooses them.

    Frames are picked by ``kinetics.data.decoding.match_frames``, the rule the RGB loader uses.
    """
    import av

    from kinetics.data.decoding import match_frames  # the loader's frame-picking rule, shared
    from kinetics.data.timebase import stored_indices, target_frame_count

    path = str(path)
    fps, frames = stored_fps, stored_frames
    if not fps or not frames:
        from kinetics.data.decoding import probe_video

        info = probe_video(path)
        fps, frames = fps or info.fps, frames or info.frames
    wanted = stored_indices(np.arange(target_frame_count(frames, fps, target_fps)), fps, target_fps, frames)
    chosen: list[np.ndarray] = []
    last_frame, last_grey = None, None
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise CorruptClipError(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            ticks_to_frames = float(rate * stream.time_base) if rate and stream.time_base else None
            picked = match_frames(container.decode(stream), wanted, frames_per_tick=ticks_to_frames,
                                  start_pts=stream.start_time or 0, from_start=True)
            for _, frame in picked:
                if frame is not last_frame:  # a repeated frame (target rate above the stored one) converts once
                    last_frame, last_grey = frame, frame.to_ndarray(format="gray")
                chosen.append(last_grey)
    except av.error.FFmpegError as err:
        raise CorruptClipError(path, f"cannot decode: {err}") from err
    except LookupError:
        raise CorruptClipError(path, "no frame decodes") from None
    return np.stack(chosen)
