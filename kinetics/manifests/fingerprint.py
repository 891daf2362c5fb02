"""The fingerprint format: the exact clips (and labels) a result was computed on, small enough to publish.

Format (JSON, optionally gzipped; ``Manifest.from_file`` reads it, so ``kinetics download
--manifest FINGERPRINT`` fetches exactly that subset)::

    {"kind": "kinetics-fingerprint", "format": 1, "version": "400" | null,
     "hash": "sha256:<hex>", "created_at": "...", "counts": {split: n},
     "classes": [label, ...] | null,          # the class list label_index refers to
     "splits": {split: [{"clip_id": ..., "label": ...} | clip_id, ...]}}

``hash`` is the sha256 of the UTF-8 lines ``split<TAB>clip_id<TAB>label<LF>`` (empty label for
unlabelled clips), sorted by split then clip_id, so anyone can recompute it without this package.
Entries carry ``time_start``/``time_end`` only when the window is not whole seconds.

A fingerprint is a list of clips, like a manifest, and is read as one; computing it from an audited
corpus is ``kinetics.corpus.fingerprint``'s job.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from kinetics.errors import ManifestError
from kinetics.files import atomic_output

FINGERPRINT_KIND = "kinetics-fingerprint"
GZIP_MAGIC = b"\x1f\x8b"
FORMAT = 1


@dataclass(frozen=True)
class Fingerprint:
    splits: dict[str, tuple[tuple[str, str | None], ...]]  # split -> sorted (clip_id, label)
    version: str | None = None
    classes: tuple[str, ...] | None = None
    created_at: str = ""
    times: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)  # clip_id -> exact window, when fractional

    @property
    def digest(self) -> str:
        return content_hash(self.splits)

    @property
    def counts(self) -> dict[str, int]:
        return {split: len(clips) for split, clips in sorted(self.splits.items())}

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Fingerprint":
        """Read and check a fingerprint; a hash that does not match its content is an error."""
        path = Path(path)
        try:
            raw = path.read_bytes()
            data = json.loads(gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw)
        except (OSError, EOFError, ValueError) as err:
            raise ManifestError(f"cannot read fingerprint: {err}", file=path) from err
        if not isinstance(data, dict) or data.get("kind") != FINGERPRINT_KIND or not isinstance(data.get("splits"), dict):
            raise ManifestError(f"not a kinetics fingerprint (expected \"kind\": \"{FINGERPRINT_KIND}\" and \"splits\")", file=path)
        splits, times = {}, {}
        for split, clips in data["splits"].items():
            entries = []
            for clip in clips:
                if isinstance(clip, str):
                    entries.append((clip, None))
                else:
                    entries.append((clip["clip_id"], clip.get("label")))
                    if "time_start" in clip:
                        times[clip["clip_id"]] = (clip["time_start"], clip["time_end"])
            splits[split] = tuple(sorted(entries))
        classes = tuple(data["classes"]) if data.get("classes") else None
        fingerprint = cls(splits, data.get("version"), classes, data.get("created_at", ""), times)
        expected = data.get("hash", "")
        if expected and expected != fingerprint.digest:
            raise ManifestError(f"content does not match its hash {expected} (got {fingerprint.digest}): the file was edited or damaged", file=path)
        return fingerprint

    def to_dict(self) -> dict:
        def entry(clip_id: str, label: str | None):
            if label is None and clip_id not in self.times:
                return clip_id
            item = {"clip_id": clip_id, "label": label}
            if clip_id in self.times:
                item["time_start"], item["time_end"] = self.times[clip_id]
            return item

        return {
            "kind": FINGERPRINT_KIND,
            "format": FORMAT,
            "version": self.version,
            "hash": self.digest,
            "created_at": self.created_at,
            "counts": self.counts,
            "classes": list(self.classes) if self.classes else None,
            "splits": {split: [entry(*clip) for clip in clips] for split, clips in sorted(self.splits.items())},
        }

    def write(self, path: str | os.PathLike) -> Path:
        """Write as JSON (gzipped when the name ends in .gz), atomically."""
        path = Path(path)
        payload = json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")
        if path.suffix == ".gz":
            payload = gzip.compress(payload, mtime=0)
        with atomic_output(path) as temp:
            temp.write_bytes(payload)
        return path


@dataclass(frozen=True)
class SplitDiff:
    split: str
    ours: int
    theirs: int
    lacking: tuple[str, ...]  # in theirs, not in ours: what we would need to match them
    extra: tuple[str, ...]  # in ours, not in theirs
    relabelled: tuple[str, ...]  # in both, with different labels


@dataclass(frozen=True)
class FingerprintDiff:
    splits: tuple[SplitDiff, ...]
    same: bool

    def as_dict(self) -> dict:
        return {"same": self.same, "splits": [vars(s) | {"lacking": list(s.lacking), "extra": list(s.extra), "relabelled": list(s.relabelled)} for s in self.splits]}

    def format(self, *, examples: int = 5) -> str:
        if self.same:
            return "the corpora hold exactly the same clips and labels"
        lines = [f"{'split':<14}{'ours':>9}{'theirs':>9}{'lacking':>9}{'extra':>9}{'relabelled':>11}"]
        for s in self.splits:
            lines.append(f"{s.split:<14}{s.ours:>9,}{s.theirs:>9,}{len(s.lacking):>9,}{len(s.extra):>9,}{len(s.relabelled):>11,}")
        for s in self.splits:
            if s.lacking:
                lines.append(f"{s.split}: lacking e.g. " + ", ".join(s.lacking[:examples]))
            if s.extra:
                lines.append(f"{s.split}: extra e.g. " + ", ".join(s.extra[:examples]))
        lines.append("fetch what is lacking with: kinetics download --manifest THEIR_FINGERPRINT --root ROOT")
        return "\n".join(lines)


def content_hash(splits: dict[str, tuple[tuple[str, str | None], ...]]) -> str:
    digest = hashlib.sha256()
    for split in sorted(splits):
        for clip_id, label in sorted(splits[split]):
            digest.update(f"{split}\t{clip_id}\t{label or ''}\n".encode("utf-8"))
    return f"sha256:{digest.hexdigest()}"


def compare_fingerprints(mine: Fingerprint, other: Fingerprint) -> FingerprintDiff:
    """How one set of clips differs from another, per split."""
    diffs = []
    for split in sorted(set(mine.splits) | set(other.splits)):
        a = dict(mine.splits.get(split, ()))
        b = dict(other.splits.get(split, ()))
        diffs.append(SplitDiff(
            split, len(a), len(b),
            lacking=tuple(sorted(set(b) - set(a))),
            extra=tuple(sorted(set(a) - set(b))),
            relabelled=tuple(sorted(c for c in set(a) & set(b) if a[c] != b[c])),
        ))
    same = all(not (d.lacking or d.extra or d.relabelled) for d in diffs)
    return FingerprintDiff(tuple(diffs), same)
