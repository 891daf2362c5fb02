"""``kinetics manifests import`` killed with SIGKILL at every step leaves a cache whose splits all index
one class list: the old cache or the new one, never val against 4 classes and train against 2.

The crash is real (the process SIGKILLs itself at its N-th ``os.replace``, for every N until the
import completes); what it leaves is then read back through the public API, as the next command would.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]

KILL_AT_NTH_REPLACE = """
import os, signal, sys
target, calls, real = int(sys.argv[1]), [0], os.replace
def replace(*args, **kwargs):
    calls[0] += 1
    if calls[0] == target:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
os.replace = replace
from kinetics.cli.main import main
sys.exit(main(sys.argv[2:]))
"""

def _csv(path: Path, split: str, labels: list[str]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for n, label in enumerate(labels):
            writer.writerow([label, f"{split[:3]}{label[:1]}{n:07d}"[:11].ljust(11, "x"), n * 10, n * 10 + 10, split])
    return path


def _read_back(cache: Path, monkeypatch) -> dict:
    """What the next command sees: the class list and every cached split's (label, label_index) rows."""
    from kinetics.manifests.sources import cached_classes, cached_splits, load_manifest

    monkeypatch.setenv("KINETICS_CACHE", str(cache))
    out = {"classes": cached_classes("400"), "splits": {}}
    for split in sorted(cached_splits("400")):
        table = load_manifest("400", split).table
        out["splits"][split] = list(zip(table.column("label").to_pylist(), table.column("label_index").to_pylist()))
    return out


def test_a_kill_at_any_step_of_an_import_leaves_one_class_list(tmp_path, monkeypatch):
    train = _csv(tmp_path / "train.csv", "train", ["bowling", "dancing", "bowling"])
    test = _csv(tmp_path / "test.csv", "test", ["dancing"])
    val = _csv(tmp_path / "val.csv", "val", ["archery", "bowling", "cooking"])  # two new classes, one sorting first
    before = tmp_path / "before"
    for split in (train, test):
        done = subprocess.run([sys.executable, "-m", "kinetics", "manifests", "import", str(split), "--version", "400"],
                              env={**os.environ, "KINETICS_CACHE": str(before), "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    killed = 0
    for n in range(1, 40):
        cache = tmp_path / f"cache{n}"
        shutil.copytree(before, cache)
        env = {**os.environ, "KINETICS_CACHE": str(cache), "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-c", KILL_AT_NTH_REPLACE, str(n), "manifests", "import", str(val), "--version", "400"],
                              env=env, capture_output=True, text=True, timeout=120)
        state = _read_back(cache, monkeypatch)
        classes = state["classes"]
        assert classes in (["bowling", "dancing"], ["archery", "bowling", "cooking", "dancing"]), (n, classes)
        for split, rows in state["splits"].items():
            assert all(classes.index(label) == index for label, index in rows), (n, split, rows, classes)
        assert ("val" in state["splits"]) == (len(classes) == 4), (n, state)
        if done.returncode == -9:
            killed += 1
            continue
        assert done.returncode == 0, done.stderr
        assert len(classes) == 4 and sorted(state["splits"]) == ["test", "train", "val"]
        break
    else:
        raise AssertionError("the import never completed")
    assert killed >= 3  # the import has several steps, and each was interrupted once
    leftovers = [p.name for p in cache.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert leftovers == []
