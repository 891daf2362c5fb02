"""Miniature UCF-101 / HMDB-51 in their official formats: real AVIs, CRLF split files, RAR and ZIP archives."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rar4 import rar4_bytes  # noqa: E402

from kinetics.data.prepare import archive_sources  # noqa: E402
from kinetics.ffmpeg import run_ffmpeg  # noqa: E402

#: (classInd name, the spelling inside video file names): the official HandstandPushups quirk included
UCF_CLASSES = (("ApplyEyeMakeup", "ApplyEyeMakeup"), ("HandstandPushups", "HandStandPushups"), ("YoYo", "YoYo"))
HMDB_VIDEOS = {  # class -> [(video name, split-1 tag)]
    "brush_hair": [("Brushing_Her_Hair__[_NEW_AUDIO_]_UPDATED!!!!_brush_hair_h_cm_np1_fr_goo_0.avi", "1"),
                   ("April_09_brush_hair_u_nm_np1_ba_goo_0.avi", "2"), ("April_09_brush_hair_u_nm_np1_ba_goo_1.avi", "0")],
    "cartwheel": [("Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi", "1"),
                  ("Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi", "2"), ("Cartwheel_cartwheel_f_cm_np1_ba_med_0.avi", "0")],
}


@dataclass(frozen=True)
class MiniArchives:
    """Archives with the official names in ``directory``, and what extracting them must produce."""

    directory: Path
    videos: dict[str, bytes]  # relative path in the prepared root -> bytes


@pytest.fixture(scope="session")
def tiny_avi(tmp_path_factory) -> bytes:
    """A real AVI (MPEG-4 part 2, as UCF-101 ships), 32x24, 12 frames at 10 fps."""
    path = tmp_path_factory.mktemp("avi") / "tiny.avi"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=10:duration=1.2", "-c:v", "mpeg4", "-q:v", "5", str(path)])
    return path.read_bytes()


def ucf_video_name(file_class: str, group: int) -> str:
    return f"v_{file_class}_g{group:02d}_c01.avi"


def ucf_split_files() -> dict[str, bytes]:
    """classInd, trainlist0N, testlist0N for the mini UCF-101 (group 2 trains, group 1 tests), CRLF like the originals."""
    class_ind = "".join(f"{i} {name}\r\n" for i, (name, _) in enumerate(UCF_CLASSES, start=1))
    train = "".join(f"{n}/{ucf_video_name(f, 2)} {i}\r\n" for i, (n, f) in enumerate(UCF_CLASSES, start=1))
    test = "".join(f"{n}/{ucf_video_name(f, 1)}\r\n" for n, f in UCF_CLASSES)
    files = {"classInd.txt": class_ind.encode()}
    for number in (1, 2, 3):
        files[f"trainlist{number:02d}.txt"] = train.encode()
        files[f"testlist{number:02d}.txt"] = test.encode()
    return files


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def ucf_archives(tmp_path, tiny_avi) -> MiniArchives:
    directory = tmp_path / "ucf_archives"
    directory.mkdir()
    videos = {f"UCF101/{n}/{ucf_video_name(f, g)}": tiny_avi + bytes([g]) for n, f in UCF_CLASSES for g in (1, 2)}
    rar_members = {"UCF-101/" + path.split("/", 1)[1]: data for path, data in videos.items()}
    (directory / "UCF101.rar").write_bytes(rar4_bytes(rar_members))
    splits = {f"ucfTrainTestlist/{name}": data for name, data in ucf_split_files().items()}
    (directory / "UCF101TrainTestSplits-RecognitionTask.zip").write_bytes(zip_bytes(splits))
    return MiniArchives(directory, videos)


@pytest.fixture
def hmdb_archives(tmp_path, tiny_avi) -> MiniArchives:
    """hmdb51_org.rar holding one RAR per class (RAR inside RAR, as published), and test_train_splits.rar."""
    directory = tmp_path / "hmdb_archives"
    directory.mkdir()
    videos, inner = {}, {}
    for label, rows in HMDB_VIDEOS.items():
        members = {f"{label}/{name}": tiny_avi + name.encode() for name, _ in rows}
        videos.update(members)
        inner[f"{label}.rar"] = rar4_bytes(members)
    (directory / "hmdb51_org.rar").write_bytes(rar4_bytes(inner))
    splits = {
        f"testTrainMulti_7030_splits/{label}_test_split{number}.txt": "".join(f"{n} {tag} \n" for n, tag in rows).encode()
        for label, rows in HMDB_VIDEOS.items()
        for number in (1, 2, 3)
    }
    (directory / "test_train_splits.rar").write_bytes(rar4_bytes(splits))
    return MiniArchives(directory, videos)


@pytest.fixture
def ucf_root(tmp_path, tiny_avi) -> Path:
    """A prepared miniature UCF-101 root written directly (no archives): 3 classes x 2 videos."""
    root = tmp_path / "ucf"
    for class_name, file_class in UCF_CLASSES:
        for group in (1, 2):
            path = root / "UCF101" / class_name / ucf_video_name(file_class, group)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tiny_avi)
    (root / "ucfTrainTestlist").mkdir()
    for name, data in ucf_split_files().items():
        (root / "ucfTrainTestlist" / name).write_bytes(data)
    return root


@pytest.fixture
def hmdb_root(tmp_path, tiny_avi) -> Path:
    """A prepared miniature HMDB-51 root: <class>/*.avi at the top, plus the split directory."""
    root = tmp_path / "hmdb"
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True)
    for label, rows in HMDB_VIDEOS.items():
        (root / label).mkdir()
        for name, _ in rows:
            (root / label / name).write_bytes(tiny_avi)
        for number in (1, 2, 3):
            (splits / f"{label}_test_split{number}.txt").write_text("".join(f"{n} {tag} \n" for n, tag in rows))
    return root


@pytest.fixture
def checked_sources():
    """``checked_sources(dataset, directory, **{name: overrides})``: the registry's archives for
    ``dataset`` with the size and sha256 of the miniature files in ``directory``."""

    def make(dataset, directory, **overrides):
        sources = []
        for source in archive_sources(dataset):
            data = (directory / source.name).read_bytes()
            values = {"size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), **overrides.get(source.name, {})}
            sources.append(dataclasses.replace(source, **values))
        return tuple(sources)

    return make
