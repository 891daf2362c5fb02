"""KineticsDataset: a corpus split as a PyTorch dataset, opened from the Parquet index alone.

Opening reads a handful of index columns (no video file is touched: 650,000 rows open in well
under a second), keeps the clips whose current state is ``ok``, and counts the rest. With
``modalities=("rgb", "flow")`` it also joins the flow index and keeps only clips with ok flow.
Loading is :class:`kinetics.data.clips.ClipDataset`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.split_names import known_splits
from kinetics.data.clips import ClipDataset, Modality, OnError, RecordTable
from kinetics.data.decoding import DecoderName
from kinetics.data.sampling import SamplingOptions
from kinetics.data.transforms import SpatialOptions
from kinetics.errors import CorpusError
from kinetics.manifests.schema import normalise_split

_CLIP_COLUMNS = ["clip_id", "status", "path", "label", "label_index", "duration", "fps", "frames", "width", "height"]


@dataclass(frozen=True)
class SplitCounts:
    """How the clips of a split were accounted for when the dataset was opened."""

    ok: int  # in the dataset
    missing: int  # permanently unavailable (private, deleted, ...)
    failed: int  # transient failures, not retried yet
    no_flow: int = 0  # ok clips left out because flow was requested and has no ok row

    @property
    def excluded(self) -> int:
        return self.missing + self.failed + self.no_flow


class KineticsDataset(ClipDataset):
    """Clips of one split of a corpus root, as dict samples (keys: see :mod:`kinetics.data.clips`).

    Defaults follow the I3D paper: ``train`` gives 64 frames at 25 fps from a random start, a
    random 224 crop and a random flip; other splits give the middle 250 frames (a whole 10 s
    clip) with a centre crop. Override with ``sampling`` and ``spatial``.

    Example::

        ds = KineticsDataset("/data/k400", "train", modalities=("rgb", "flow"))
        loader = DataLoader(ds, batch_size=8, num_workers=8, shuffle=True)
        for epoch in range(epochs):
            ds.set_epoch(epoch)
            for batch in loader: ...
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        *,
        sampling: SamplingOptions | None = None,
        spatial: SpatialOptions | None = None,
        modalities: Sequence[Modality] = ("rgb",),
        flow_method: str = "tvl1",
        decoder: DecoderName = "pyav",
        threads: int = 1,
        transform: Callable[[dict], dict] | None = None,
        on_error: OnError = "raise",
        seed: int = 0,
    ):
        index = CorpusIndex(root)
        if not index.exists():
            raise CorpusError(f"{index.root} has no index (index/clips): not a corpus root, or nothing downloaded yet")
        split = normalise_split(split)  # "valid", "validate" -> "val", as the manifests store it
        table, counts = _ok_clips(index, split, flow_method if "flow" in tuple(modalities) else None)
        if counts.ok == 0:
            raise CorpusError(f"{index.root}: {_why_empty(index, split, counts, flow_method if 'flow' in tuple(modalities) else None)}")
        self.split = split
        self.counts = counts
        sampling, spatial = self._protocol(split == "train", sampling, spatial)
        super().__init__(
            RecordTable(table),
            index.root,
            sampling=sampling,
            spatial=spatial,
            modalities=modalities,
            decoder=decoder,
            threads=threads,
            transform=transform,
            on_error=on_error,
            seed=seed,
            classes=_class_names(index, table),
        )

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"KineticsDataset(root={str(self.layout.root)!r}, split={self.split!r}, clips={len(self)}, "
            f"excluded: missing={c.missing} failed={c.failed} no_flow={c.no_flow}, modalities={self.modalities})"
        )


def _ok_clips(index: CorpusIndex, split: str, flow_method: str | None) -> tuple[pa.Table, SplitCounts]:
    """The ok clips of ``split`` as record columns, in index order, and the counts of the rest.

    Index order is stable: compaction keeps it, and new downloads only add part files after it.
    (Sorting 650,000 clip ids would cost more than the rest of the opening.)
    """
    state = index.clip_state(split, columns=_CLIP_COLUMNS)
    by_status = {row["values"]: row["counts"] for row in pc.value_counts(state.column("status")).to_pylist()}
    table = state.filter(pc.equal(state.column("status"), "ok")).drop_columns(["status"])
    no_flow = 0
    if flow_method is not None:
        flow = index.flow_state(split, flow_method, columns=["clip_id", "path", "status"])
        flow = flow.filter(pc.equal(flow.column("status"), "ok"))
        position = pc.index_in(table.column("clip_id"), value_set=flow.column("clip_id"))  # a hash, not a join
        has_flow = pc.is_valid(position)
        no_flow = table.num_rows - pc.sum(has_flow).as_py() if table.num_rows else 0
        table = table.filter(has_flow)
        table = table.append_column("flow_path", flow.column("path").take(position.filter(has_flow)))
    table = table.rename_columns(["duration_seconds" if c == "duration" else c for c in table.column_names])
    counts = SplitCounts(ok=table.num_rows, missing=by_status.get("missing", 0), failed=by_status.get("failed", 0), no_flow=no_flow)
    return table, counts


def _why_empty(index: CorpusIndex, split: str, counts: SplitCounts, flow_method: str | None) -> str:
    """Why a split opened with no clip: an unknown split, no ok clip, or no ok flow for the method.

    Only runs on the way to an error, so reading every split's state here costs nothing in use.
    """
    known = known_splits(index)
    if split not in known:
        return f"unknown split {split!r}; this corpus has: {', '.join(known) or 'no splits (nothing downloaded yet)'}"
    if counts.no_flow == 0:  # no ok clip at all, flow or not
        if counts.missing or counts.failed:
            return (f"no ok clips in split {split!r} (missing={counts.missing}, failed={counts.failed}); "
                    "`kinetics status` shows why, `kinetics download --retry-failed` retries")
        return f"no clip of split {split!r} has been downloaded yet"
    flow = index.flow_state(columns=["split", "method", "status"])
    flow = flow.filter(pc.equal(flow.column("status"), "ok"))
    where: dict[str, set[str]] = {}
    for method, flow_split in zip(flow.column("method").to_pylist(), flow.column("split").to_pylist()):
        where.setdefault(method, set()).add(flow_split)
    exists = "; ".join(f"{m} ({', '.join(sorted(where[m]))})" for m in sorted(where)) or "no method (run `kinetics flow`)"
    return (f"split {split!r}: no ok flow for method {flow_method!r} among its {counts.no_flow} ok clips; "
            f"flow exists for: {exists}")


def _class_names(index: CorpusIndex, table: pa.Table) -> list[str] | None:
    """Label names by label_index: from the corpus's manifest (every class it was asked for, even
    one with no ok clip in this split), else from the ok clips. Unseen indices get ""."""
    targets = index.targets.read(["label", "label_index"])
    source = targets if targets.num_rows else table
    if "label" not in source.column_names or source.num_rows == 0:
        return None
    indices = source.column("label_index")
    unique = pc.unique(indices).drop_null()
    first = pc.index_in(unique, value_set=indices)  # an integer hash: cheap even at 650,000 rows
    labels = source.column("label").take(first)
    names = {i: label for i, label in zip(unique.to_pylist(), labels.to_pylist()) if i >= 0 and label is not None}
    if not names:
        return None
    return [names.get(i, "") for i in range(max(names) + 1)]
