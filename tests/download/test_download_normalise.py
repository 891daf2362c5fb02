"""The corpus encoding: size, frame rate, audio, GOP, faststart, length; verification refuses bad files."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from kinetics.download.normalise import NormaliseOptions, normalise, normalise_args, probe_header, verify_clip
from kinetics.errors import CorruptClipError


def _encode(source: Path, target: Path, seconds: float, **options) -> Path:
    normalise(source, target, duration_seconds=seconds, source_probe=probe_header(source), options=NormaliseOptions(**options))
    return target


def _keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None and p.is_keyframe]


def _atom_order(path: Path) -> list[str]:
    data = path.read_bytes()
    names, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        names.append(data[offset + 4:offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return names


def test_landscape_clip_gets_the_corpus_format(clip_factory, tmp_path):
    source = clip_factory(seconds=6, fps=25, width=160, height=120, audio=True, gop=75)
    out = _encode(source, tmp_path / ".clip.mp4.0123.part", 4.0, short_side_pixels=96, threads=1, preset="ultrafast")
    probe = verify_clip(out, expected_seconds=4.0, tolerance_seconds=0.05)
    assert (probe.width, probe.height) == (128, 96)
    assert probe.codec == "h264" and probe.has_audio and probe.frames == 100
    keys = _keyframe_times(out)
    # a keyframe at the first frame at or after every 0.5 s (the source's GOP was 3 s)
    assert keys[0] == 0.0 and len(keys) == 8 and max(b - a for a, b in zip(keys, keys[1:])) <= 0.5 + 1 / 25 + 1e-6
    atoms = _atom_order(out)
    assert atoms.index("moov") < atoms.index("mdat")  # faststart
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert container.streams.audio[0].codec_context.name == "aac"


def test_portrait_fixed_rate_original_size_without_audio(clip_factory, tmp_path):
    source = clip_factory(seconds=5, fps=30, width=120, height=160, audio=False)
    out = _encode(source, tmp_path / "p.mp4", 3.0, short_side_pixels=0, fps=10, threads=1, preset="ultrafast")
    probe = verify_clip(out, expected_seconds=3.0, tolerance_seconds=0.05)
    assert (probe.width, probe.height, probe.fps, probe.frames) == (120, 160, 10.0, 30)
    assert not probe.has_audio
    small = _encode(source, tmp_path / "s.mp4", 3.0, short_side_pixels=64, threads=1, preset="ultrafast")
    assert (probe_header(small).width, probe_header(small).height) == (64, 86)  # short side is the width here


def test_no_audio_drops_the_track(clip_factory, tmp_path):
    source = clip_factory(seconds=4, fps=25, width=160, height=120, audio=True)
    out = _encode(source, tmp_path / "n.mp4", 2.0, short_side_pixels=96, audio=False, threads=1, preset="ultrafast")
    assert probe_header(out).has_audio is False


def test_verification_names_the_file_and_the_problem(clip_factory, tmp_path):
    source = clip_factory(seconds=4, fps=25, width=160, height=120, audio=True)
    with pytest.raises(CorruptClipError, match=r"lasts 4\.000 s, expected 6\.000 s"):
        verify_clip(source, expected_seconds=6.0, tolerance_seconds=0.5)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    with pytest.raises(CorruptClipError, match=str(broken)):
        verify_clip(broken, expected_seconds=4.0, tolerance_seconds=0.5)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 5000)
    with pytest.raises(CorruptClipError, match="garbage.mp4"):
        probe_header(garbage)


def test_arguments_are_a_list_with_absolute_paths(clip_factory, tmp_path):
    source = clip_factory(seconds=4, fps=25, width=160, height=120, audio=True)
    target = tmp_path / "-looks-like-an-option.mp4"
    args = normalise_args(source, target, duration_seconds=2.0, source_probe=probe_header(source), options=NormaliseOptions())
    assert args[args.index("-i") + 1] == str(source) and str(target) in args
    assert "-movflags" in args and args[args.index("-movflags") + 1] == "+faststart"
    with pytest.raises(ValueError, match="absolute"):
        normalise_args(Path("in.mp4"), target, duration_seconds=2.0, source_probe=probe_header(source), options=NormaliseOptions())


@pytest.mark.parametrize("field, value", [("short_side_pixels", 255), ("short_side_pixels", -2), ("fps", 0), ("crf", 60), ("preset", "warp")])
def test_bad_options_name_the_value(field, value):
    with pytest.raises(ValueError, match=field):
        NormaliseOptions(**{field: value})


@pytest.mark.parametrize("fps", [25, 30])
def test_the_download_check_and_audit_deep_measure_a_clip_alike(clip_factory, fps):
    """One rule (kinetics.corpus.clipcheck.decoded_length) for both, so they cannot disagree about a file."""
    from kinetics.corpus.clipcheck import ClipCheckTask, check_clip

    source = clip_factory(seconds=3, fps=fps, width=160, height=120, audio=True)
    probe = verify_clip(source, expected_seconds=3.0, tolerance_seconds=0.1)
    audited = check_clip(ClipCheckTask("c", str(source), recorded_seconds=probe.duration_seconds, tolerance_seconds=0.0))
    assert audited.ok and audited.duration == pytest.approx(probe.duration_seconds, abs=1e-6)
    assert audited.frames == probe.frames == 3 * fps
