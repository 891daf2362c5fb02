"""Real media for tests, encoded on the spot with the same ffmpeg the package resolves."""

from __future__ import annotations

from pathlib import Path

from kinetics.ffmpeg import run_ffmpeg


def make_clip(
    path: str | Path,
    *,
    seconds: float = 4.0,
    fps: float = 25.0,
    width: int = 160,
    height: int = 120,
    audio: bool = True,
    gop: int | None = None,
    codec: str = "libx264",
) -> Path:
    """A synthetic H.264 MP4 (ffmpeg's testsrc2 pattern, a sine tone when ``audio``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={seconds}"]
    args += ["-c:v", codec, "-pix_fmt", "yuv420p", "-preset", "ultrafast"]
    if gop:
        args += ["-g", str(gop)]
    if audio:
        args += ["-c:a", "aac", "-b:a", "32k", "-shortest"]
    args += ["-movflags", "+faststart", str(path)]
    run_ffmpeg(args)
    return path
