"""UCF-101 and HMDB-51 as clip datasets: the official splits of a prepared root over the shared core.

Both classes only turn split entries into :class:`~kinetics.data.clips.VideoRecord` rows; sampling,
decoding, transforms, flow and error handling are :class:`~kinetics.data.clips.ClipDataset`'s,
exactly as for KineticsDataset. Opening lists each class directory once and opens no video: a
video that the split files list but that is not on disk is excluded and counted
(``counts.missing``, names in ``missing_videos``), as non-ok Kinetics clips are. With ``"flow"`` in
``modalities``, flow comes from ``{root}/index/flow`` (written by ``kinetics flow --dataset
ucf101|hmdb51``); videos without an ok flow record for ``flow_method`` are excluded and counted too
(``counts.no_flow``, names in ``missing_flow``). Defaults follow KineticsDataset: the paper's
training sampling and crops for ``train=True``, its test protocol otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Literal, Sequence

from kinetics.corpus.index import CorpusIndex
from kinetics.data.clips import ClipDataset, Modality, OnError, VideoRecord
from kinetics.data.dataset import SplitCounts
from kinetics.data.decoding import DecoderName
from kinetics.data.sampling import SamplingOptions
from kinetics.data.splits import FLOW_SPLIT, FolderDatasetName, FolderLayout, video_clip_id
from kinetics.data.transforms import SpatialOptions


class _FolderDataset(ClipDataset):
    """The shared constructor of UCF101Dataset and HMDB51Dataset."""

    dataset_name: FolderDatasetName

    def __init__(
        self,
        root: str | os.PathLike,
        split: int = 1,
        train: bool = True,
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
        layout = FolderLayout(self.dataset_name, Path(root))
        listed = layout.read_split(split)
        subset: Literal["train", "test"] = "train" if train else "test"
        found, missing = layout.locate(listed.subset(subset))
        flow_paths = _flow_paths(layout.root, flow_method) if "flow" in tuple(modalities) else None
        records, no_flow = [], []
        for entry, relpath in found.items():
            clip_id = video_clip_id(relpath)  # of the on-disk name, as list_videos gives the flow extractor
            flow_path = None if flow_paths is None else flow_paths.get(clip_id)
            if flow_paths is not None and flow_path is None:
                no_flow.append(entry.video_relpath)
                continue
            records.append(VideoRecord(clip_id, relpath, entry.label_index, flow_path=flow_path))
        self.split = split
        self.subset = subset
        #: as KineticsDataset's: ok (loaded), missing (listed but not on disk), no_flow (no ok flow row)
        self.counts = SplitCounts(ok=len(records), missing=len(missing), failed=0, no_flow=len(no_flow))
        #: split-file paths of the videos left out, for the user to look into
        self.missing_videos: tuple[str, ...] = tuple(e.video_relpath for e in missing)
        self.missing_flow: tuple[str, ...] = tuple(no_flow)
        sampling, spatial = self._protocol(train, sampling, spatial)
        super().__init__(
            records,
            layout.root,
            sampling=sampling,
            spatial=spatial,
            modalities=modalities,
            decoder=decoder,
            threads=threads,
            transform=transform,
            on_error=on_error,
            seed=seed,
            classes=listed.class_names,
        )

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"{type(self).__name__}(root={str(self.layout.root)!r}, split={self.split}, subset={self.subset!r}, "
            f"clips={len(self)}, excluded: missing={c.missing} no_flow={c.no_flow}, modalities={self.modalities})"
        )


class UCF101Dataset(_FolderDataset):
    """UCF-101 split 1, 2 or 3 (train or test) of a root prepared by ``kinetics prepare ucf101``.

    Labels are classInd.txt's order, 0-based; ``classes`` holds the names.
    """

    dataset_name = "ucf101"


class HMDB51Dataset(_FolderDataset):
    """HMDB-51 split 1, 2 or 3 (train: tag 1, test: tag 2; tag 0 is never loaded) of a prepared root.

    Labels are the sorted class names, 0-based; ``classes`` holds the names.
    """

    dataset_name = "hmdb51"


def _flow_paths(root: Path, method: str) -> dict[str, str]:
    """``{clip_id: flow path}`` of the ok flow records of ``method`` in the root's index."""
    table = CorpusIndex(root).flow_state(split=FLOW_SPLIT, method=method, columns=["clip_id", "status", "path"])
    return {row["clip_id"]: row["path"] for row in table.to_pylist() if row["status"] == "ok" and row["path"]}
