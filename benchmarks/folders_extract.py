"""How fast `kinetics prepare` extracts RAR members, and how fast a UCF-101 split opens.

1. Extraction: a stored RAR 4 of ``--files`` x ``--megabytes`` MB (written with the test-only writer
   in tests/folders/rar4.py) extracted by kinetics.data.archives.extract_archive (streams each
   member through unrar's callback into a temporary file, then renames) against the baseline of
   unrar2-cffi's own ``RarFile.read`` per member (collects each member in memory) + write.
2. Opening: UCF101Dataset over the real split-1 lists with all 13,320 files present (empty files),
   against the baseline of one ``os.stat`` per listed video.

Both are measured in the same run; other processes share the CPU, so absolute numbers are noisy.

    python benchmarks/folders_extract.py --files 8 --megabytes 16
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "folders"))

from rar4 import write_rar4  # noqa: E402
from timing import best_of  # noqa: E402
from unrar.cffi.rarfile import RarFile  # noqa: E402

from kinetics.data.archives import extract_archive  # noqa: E402
from kinetics.data.splits import Split  # noqa: E402


def bench_extract(work: Path, files: int, megabytes: int, repeats: int) -> None:
    members = {f"UCF-101/C{i % 4}/v_{i:03d}.avi": os.urandom(megabytes << 20) for i in range(files)}
    archive = write_rar4(work / "bench.rar", members)
    total_mb = files * megabytes

    def ours() -> None:
        shutil.rmtree(work / "ours", ignore_errors=True)
        extract_archive(archive, work / "ours", archive_format="rar", strip_components=1)

    def baseline() -> None:
        shutil.rmtree(work / "base", ignore_errors=True)
        rar = RarFile(archive)
        for name in rar.namelist():
            target = work / "base" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rar.read(name))

    (t_ours, _), (t_base, _) = best_of(repeats, ours), best_of(repeats, baseline)
    print(f"extract {files} x {megabytes} MB: kinetics {total_mb / t_ours:8.1f} MB/s ({t_ours:.2f} s)   "
          f"RarFile.read baseline {total_mb / t_base:8.1f} MB/s ({t_base:.2f} s)   speed-up x{t_base / t_ours:.2f}")


def bench_open(work: Path, shared: Path, repeats: int) -> None:
    from kinetics.data.video_folders import UCF101Dataset

    root = work / "ucf"
    shutil.copytree(shared / "ucf101" / "ucfTrainTestlist", root / "ucfTrainTestlist")
    split = Split.from_ucf101(root / "ucfTrainTestlist", 1)
    for entry in split.entries:
        path = root / "UCF101" / entry.video_relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def ours() -> None:
        dataset = UCF101Dataset(root, split=1, train=True)
        assert len(dataset) == 9537

    def baseline() -> None:
        listed = Split.from_ucf101(root / "ucfTrainTestlist", 1).train
        assert sum(os.path.exists(root / "UCF101" / e.video_relpath) for e in listed) == 9537

    (t_ours, _), (t_base, _) = best_of(repeats, ours), best_of(repeats, baseline)
    print(f"open UCF-101 split 1 train (9,537 of 13,320 files): UCF101Dataset {t_ours * 1000:7.1f} ms   "
          f"parse + stat-per-file baseline {t_base * 1000:7.1f} ms   ratio x{t_base / t_ours:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--megabytes", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shared-data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_extract(Path(tmp), args.files, args.megabytes, args.repeats)
        if (args.shared_data / "ucf101").is_dir():
            bench_open(Path(tmp), args.shared_data, args.repeats)


if __name__ == "__main__":
    main()
