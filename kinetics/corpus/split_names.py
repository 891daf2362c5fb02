"""The splits a corpus knows, so that a mistyped ``--split`` is an error listing them, not an empty table."""

from __future__ import annotations

from kinetics.corpus.index import CorpusIndex
from kinetics.errors import CorpusError
from kinetics.manifests.schema import normalise_split


def known_splits(index: CorpusIndex) -> list[str]:
    """Splits named by the corpus's manifest or by any clip attempt (the split column only: cheap)."""
    names = set(index.targets.read(["split"]).column("split").to_pylist())
    names |= set(index.clips.read(["split"]).column("split").to_pylist())
    return sorted(n for n in names if n)


def check_split(index: CorpusIndex, split: str | None) -> str | None:
    """``split`` normalised ("valid" -> "val"); CorpusError listing the known splits when the corpus has none such."""
    if split is None:
        return None
    name = normalise_split(split)
    known = known_splits(index)
    if name not in known:
        listed = ", ".join(known) if known else "no splits yet (nothing downloaded)"
        raise CorpusError(f"{index.root}: unknown split {split!r}; this corpus has: {listed}")
    return name
