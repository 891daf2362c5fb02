"""The official UCF-101 and HMDB-51 on disk: split files, and where a prepared root keeps its videos.

UCF-101 (``ucfTrainTestlist/``): ``classInd.txt`` lines ``<1-based index> <Class>``;
``trainlist0N.txt`` lines ``<Class>/<video>.avi <index>``; ``testlist0N.txt`` lines
``<Class>/<video>.avi``. CRLF line endings. The class of a video is its directory prefix, never
its file name: the files of ``HandstandPushups`` are named ``v_HandStandPushups_...``.

HMDB-51 (``testTrainMulti_7030_splits/``): one ``<class>_test_split<N>.txt`` per class and split,
lines ``<video>.avi <tag> `` (trailing space), tag 1 = train, 2 = test, 0 = unused. The class comes
from the file name; label order is the sorted class names.

Labels are 0-based everywhere (``label_index``), as in the Kinetics index.

A prepared root (``kinetics prepare``) holds::

    UCF-101:  {root}/UCF101/<Class>/v_*.avi      {root}/ucfTrainTestlist/
    HMDB-51:  {root}/<class>/*.avi               {root}/testTrainMulti_7030_splits/
    both:     {root}/flow/{method}/<video path minus extension>.<ext>   {root}/index/flow/
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from kinetics.corpus.layout import FLOW_DIR, INDEX_DIR, safe_label
from kinetics.errors import CorpusError, ManifestError

Subset = Literal["train", "test", "unused"]
FolderDatasetName = Literal["ucf101", "hmdb51"]

SPLIT_NUMBERS = (1, 2, 3)
SUBSETS: tuple[str, ...] = get_args(Subset)
_HMDB_TAGS: dict[str, Subset] = {"1": "train", "2": "test", "0": "unused"}
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov")
ARCHIVES_DIR = "archives"  # downloads kept by kinetics prepare
FLOW_SPLIT = "all"  # the ``split`` of flow records: flow does not depend on the train/test split
_UCF_VIDEO_DIRS = ("UCF101", "UCF-101")  # ours, then the name inside UCF101.rar (a manual extraction)
_SPLIT_DIRS = {"ucf101": "ucfTrainTestlist", "hmdb51": "testTrainMulti_7030_splits"}
_HMDB_FILE = re.compile(r"^(?P<label>.+)_test_split(?P<number>[123])\.txt$")


@dataclass(frozen=True)
class SplitEntry:
    """One video of one split: where it is (relative to the video directory) and what it shows."""

    video_relpath: str  # "<class directory>/<file name>", POSIX, as the split file spells it
    label: str
    label_index: int  # 0-based
    subset: Subset

    def __post_init__(self) -> None:
        if self.subset not in SUBSETS:
            raise ValueError(f"{self.video_relpath}: subset must be one of {SUBSETS}, got {self.subset!r}")
        if self.label_index < 0:
            raise ValueError(f"{self.video_relpath}: label_index must be >= 0, got {self.label_index}")


@dataclass(frozen=True)
class Split:
    """One official split (1, 2 or 3) of UCF-101 or HMDB-51: its classes and every video's subset."""

    dataset: FolderDatasetName
    number: int
    class_names: tuple[str, ...]
    entries: tuple[SplitEntry, ...]

    def __post_init__(self) -> None:
        check_split_number(self.number)

    def subset(self, name: Subset) -> tuple[SplitEntry, ...]:
        if name not in SUBSETS:
            raise ValueError(f"subset must be one of {SUBSETS}, got {name!r}")
        return tuple(e for e in self.entries if e.subset == name)

    @property
    def train(self) -> tuple[SplitEntry, ...]:
        return self.subset("train")

    @property
    def test(self) -> tuple[SplitEntry, ...]:
        return self.subset("test")

    @classmethod
    def from_ucf101(cls, directory: str | Path, number: int = 1) -> Split:
        """Read ``classInd.txt``, ``trainlist0N.txt`` and ``testlist0N.txt`` from ``directory``."""
        check_split_number(number)
        directory = Path(directory)
        class_names = read_ucf101_classes(directory / "classInd.txt")
        by_folded = {name.casefold(): index for index, name in enumerate(class_names)}
        entries: list[SplitEntry] = []
        for subset, stem in (("train", "trainlist"), ("test", "testlist")):
            path = directory / f"{stem}{number:02d}.txt"
            for line_number, fields in _lines(path):
                relpath = fields[0].replace("\\", "/")
                folder = relpath.split("/", 1)[0]
                index = by_folded.get(folder.casefold())
                if "/" not in relpath or index is None:
                    raise ManifestError(f"{relpath!r} is not <Class>/<video> with a class of classInd.txt", file=path, line=line_number)
                if len(fields) > 1 and fields[1] != str(index + 1):
                    raise ManifestError(
                        f"{relpath!r} is in folder {folder!r} (class {index + 1}) but labelled {fields[1]!r}",
                        file=path, line=line_number,
                    )
                entries.append(SplitEntry(relpath, class_names[index], index, subset))
        _check_disjoint(entries, directory)
        return cls("ucf101", number, class_names, tuple(entries))

    @classmethod
    def from_hmdb51(cls, directory: str | Path, number: int = 1) -> Split:
        """Read every ``<class>_test_splitN.txt`` in ``directory``; classes are the sorted file-name prefixes."""
        check_split_number(number)
        directory = Path(directory)
        files = hmdb51_split_files(directory, number)
        class_names = tuple(sorted(files))
        entries: list[SplitEntry] = []
        for index, label in enumerate(class_names):
            path = files[label]
            for line_number, fields in _lines(path):
                if len(fields) != 2 or fields[1] not in _HMDB_TAGS:
                    raise ManifestError("expected '<video>.avi <0|1|2>'", file=path, line=line_number)
                entries.append(SplitEntry(f"{label}/{fields[0]}", label, index, _HMDB_TAGS[fields[1]]))
        _check_disjoint(entries, directory)
        return cls("hmdb51", number, class_names, tuple(entries))

    @classmethod
    def for_dataset(cls, dataset: FolderDatasetName, directory: str | Path, number: int = 1) -> Split:
        check_dataset_name(dataset)
        reader = cls.from_ucf101 if dataset == "ucf101" else cls.from_hmdb51
        return reader(directory, number)


def read_ucf101_classes(path: str | Path) -> tuple[str, ...]:
    """Class names in label order from ``classInd.txt`` (its 1-based indices must be 1..N in order)."""
    names: list[str] = []
    for line_number, fields in _lines(Path(path)):
        if len(fields) != 2 or fields[0] != str(len(names) + 1):
            raise ManifestError(f"expected '{len(names) + 1} <ClassName>'", file=path, line=line_number)
        names.append(fields[1])
    if not names:
        raise ManifestError("no classes listed", file=path)
    return tuple(names)


def hmdb51_split_files(directory: str | Path, number: int) -> dict[str, Path]:
    """``{class name: split file}`` for split ``number`` of an HMDB-51 split directory."""
    directory = Path(directory)
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError as err:
        raise ManifestError(f"cannot list the HMDB-51 split directory: {err.strerror or err}", file=directory) from err
    files = {}
    for name in names:
        match = _HMDB_FILE.fullmatch(name)
        if match and int(match["number"]) == number:
            files[match["label"]] = directory / name
    if not files:
        raise ManifestError(f"no <class>_test_split{number}.txt files", file=directory)
    return files


def check_split_number(number: int) -> None:
    if number not in SPLIT_NUMBERS:
        raise ValueError(f"split must be one of {SPLIT_NUMBERS}, got {number!r}")


def check_dataset_name(dataset: str) -> None:
    if dataset not in get_args(FolderDatasetName):
        raise ValueError(f"dataset must be one of {get_args(FolderDatasetName)}, got {dataset!r}")


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank lines as whitespace-split fields with 1-based line numbers (CRLF, BOM, trailing spaces ok)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError(f"cannot read split file: {getattr(err, 'strerror', None) or err}", file=path) from err
    return [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _check_disjoint(entries: list[SplitEntry], directory: Path) -> None:
    seen: dict[str, Subset] = {}
    for entry in entries:
        key = entry.video_relpath.casefold()
        if key in seen:
            raise ManifestError(f"{entry.video_relpath!r} is listed twice ({seen[key]} and {entry.subset})", file=directory)
        seen[key] = entry.subset


# -- the prepared root ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FolderVideo:
    """One video file of a prepared root, as a flow-extraction job."""

    clip_id: str  # the file stem, unique within a dataset
    path: Path  # absolute
    relpath: str  # relative to the root, POSIX separators
    label: str  # the class directory
    split: str = FLOW_SPLIT

    def flow_relpath(self, method: str, suffix: str) -> str:
        """Where this video's flow lives, relative to the root: flow/{method}/<relpath minus extension><suffix>."""
        stem = self.relpath.rsplit(".", 1)[0]
        return f"{FLOW_DIR}/{safe_label(method)}/{stem}{suffix}"


@dataclass(frozen=True)
class FolderLayout:
    """Where a prepared UCF-101 or HMDB-51 root keeps its videos and split files."""

    dataset: FolderDatasetName
    root: Path

    def __post_init__(self) -> None:
        check_dataset_name(self.dataset)
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())

    @property
    def splits_dir(self) -> Path:
        return self.root / _SPLIT_DIRS[self.dataset]

    @property
    def videos_dir(self) -> Path:
        """``{root}/UCF101`` (or a manually extracted ``UCF-101``) for UCF-101; the root itself for HMDB-51."""
        if self.dataset == "hmdb51":
            return self.root
        for name in _UCF_VIDEO_DIRS:
            if (self.root / name).is_dir():
                return self.root / name
        return self.root / _UCF_VIDEO_DIRS[0]

    def read_split(self, number: int = 1) -> Split:
        if not self.splits_dir.is_dir():
            raise CorpusError(f"{self.splits_dir} not found: run `kinetics prepare {self.dataset} --root {self.root}` first")
        return Split.for_dataset(self.dataset, self.splits_dir, number)

    def class_dirs(self) -> list[Path]:
        """The class directories under the video directory (not flow/, index/, archives/ or the split files)."""
        reserved = {FLOW_DIR, INDEX_DIR, ARCHIVES_DIR, _SPLIT_DIRS[self.dataset]}
        try:
            entries = sorted(os.scandir(self.videos_dir), key=lambda e: e.name)
        except OSError as err:
            raise CorpusError(f"cannot list {self.videos_dir}: {err.strerror or err}") from err
        return [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".") and e.name not in reserved]

    def locate(self, entries: tuple[SplitEntry, ...]) -> tuple[dict[SplitEntry, str], list[SplitEntry]]:
        """Root-relative paths of the listed videos that exist, and the entries whose video does not.

        Lists each class directory once (no file is opened) and matches names case-insensitively,
        as the official names differ in case from some extractions (``HandStandPushups``).
        """
        on_disk: dict[str, str] = {}
        for folder in {e.video_relpath.split("/", 1)[0] for e in entries}:
            directory = _find_dir(self.videos_dir, folder)
            if directory is not None:
                prefix = directory.relative_to(self.root).as_posix()
                for name in _file_names(directory):
                    on_disk[f"{folder}/{name}".casefold()] = f"{prefix}/{name}"
        found: dict[SplitEntry, str] = {}
        missing: list[SplitEntry] = []
        for entry in entries:
            relpath = on_disk.get(entry.video_relpath.casefold())
            if relpath is None:
                missing.append(entry)
            else:
                found[entry] = relpath
        return found, missing


def list_videos(root: str | os.PathLike, dataset: FolderDatasetName) -> list[FolderVideo]:
    """Every video file of a prepared UCF-101 / HMDB-51 root, sorted, as flow-extraction jobs."""
    layout = FolderLayout(dataset, Path(root))
    videos = []
    for directory in layout.class_dirs():
        for name in _file_names(directory):
            if name.lower().endswith(VIDEO_SUFFIXES):
                relpath = f"{directory.relative_to(layout.root).as_posix()}/{name}"
                videos.append(FolderVideo(video_clip_id(relpath), directory / name, relpath, directory.name))
    return videos


def video_clip_id(relpath: str) -> str:
    """A video's clip_id: its file stem (unique within UCF-101 and within HMDB-51)."""
    return relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _find_dir(parent: Path, name: str) -> Path | None:
    exact = parent / name
    if exact.is_dir():
        return exact
    folded = name.casefold()
    try:
        return next((Path(e.path) for e in os.scandir(parent) if e.is_dir() and e.name.casefold() == folded), None)
    except OSError:
        return None


def _file_names(directory: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(directory) if e.is_file() and not e.name.startswith("."))
    except OSError as err:
        raise CorpusError(f"cannot list {directory}: {err.strerror or err}") from err
