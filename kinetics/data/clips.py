"""A map-style clip dataset over any list of videos: the core KineticsDataset, UCF101Dataset and
HMDB51Dataset share.

``ClipDataset(records, root, sampling=..., spatial=..., modalities=...)`` takes a sequence of
:class:`VideoRecord` and turns item ``i`` into a training sample:

1. a ``torch.Generator`` seeded from ``(seed, epoch, i)`` (so a sample does not depend on which
   DataLoader worker loads it; call ``set_epoch`` each epoch);
2. the clip's stored rate, frame count and size, from the record or, where it says ``None``,
   probed once in the worker from the container header (PyAV stream metadata, no decoding);
3. windows at the target rate (:mod:`kinetics.data.sampling`), mapped to stored frames by
   :mod:`kinetics.data.timebase`;
4. one spatial plan (resize, crop, flip: :class:`~kinetics.data.transforms.SpatialOptions`) for
   every stream of the item;
5. RGB decoded with the crop applied before colour conversion (:mod:`kinetics.data.decoding`),
   flow read from the clip's flow file (:mod:`kinetics.corpus.flowfile`);
6. the optional ``transform(sample) -> sample``, given ``generator=`` (the item's) when it takes
   one, as the classes in :mod:`kinetics.data.transforms` do, so its randomness is seeded too.

Sample keys: ``rgb`` float ``[3, T, H, W]`` in [-1, 1] and/or ``flow`` float ``[2, T, H, W]`` in
[-1, 1] (``x`` then ``y``; pixels = value x the file's bound), each ``[V, C, T, H, W]`` with
``SamplingOptions.multi_view``; ``label`` (int, -1 when unlabelled); ``clip_id`` (str);
``start_seconds`` (float, or a float tensor ``[V]``); ``index`` (the item actually loaded, which
differs from the one asked for when ``on_error="skip"`` replaced a broken clip).

Nothing is opened in the constructor: file handles live only inside ``__getitem__``, so the
dataset pickles into DataLoader workers (fork or spawn) as plain data.
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Literal, Sequence, Union

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset

from kinetics.corpus.flowfile import FlowFile, dequantise
from kinetics.corpus.layout import CorpusLayout
from kinetics.data.decoding import DecoderName, DECODERS, probe_video, read_rgb, torchcodec_decoder
from kinetics.data.sampling import SamplingOptions, Window, sample_windows
from kinetics.data.timebase import stored_indices, target_frame_count
from kinetics.data.transforms import SpatialOptions, SpatialPlan, apply_plan, mirror_box, negate_flow_x
from kinetics.errors import CorruptClipError, KineticsError
from kinetics.modality import MODALITIES, Modality

log = logging.getLogger("kinetics.data")

ErrorHandler = Callable[[KineticsError, "VideoRecord"], Union[dict, None]]
OnError = Union[Literal["raise", "skip"], ErrorHandler]
SKIP_ATTEMPTS = 10  # replacement clips tried before "skip" gives up and raises


@dataclass(frozen=True)
class VideoRecord:
    """One video a dataset can load. ``None`` means unknown: probed lazily when needed.

    ``path`` and ``flow_path`` are relative to the dataset root (POSIX separators) or absolute.
    """

    clip_id: str
    path: str
    label_index: int = -1
    fps: float | None = None
    frames: int | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    flow_path: str | None = None

    def __post_init__(self) -> None:
        if not self.clip_id or not self.path:
            raise ValueError(f"a video record needs a clip_id and a path, got {self.clip_id!r}, {self.path!r}")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"{self.clip_id}: fps must be positive, got {self.fps}")
        if self.frames is not None and self.frames < 0:
            raise ValueError(f"{self.clip_id}: frames must be >= 0, got {self.frames}")

    @property
    def complete(self) -> bool:
        """Whether everything a sample needs is known without opening the file."""
        return None not in (self.fps, self.frames, self.width, self.height)


class RecordTable(Sequence[VideoRecord]):
    """Records stored as Arrow columns: hundreds of thousands of rows in memory and over pickling
    at the cost of a few buffers, with a :class:`VideoRecord` built only for the row asked for."""

    _COLUMNS = ("clip_id", "path", "label_index", "fps", "frames", "duration_seconds", "width", "height", "flow_path")

    def __init__(self, table: pa.Table):
        missing = [c for c in ("clip_id", "path") if c not in table.column_names]
        if missing:
            raise ValueError(f"a record table needs columns {missing} (has {table.column_names})")
        self.table = table.select([c for c in self._COLUMNS if c in table.column_names]).combine_chunks()

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, index):  # Sequence protocol; slices give RecordTables
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return RecordTable(self.table.take(list(range(start, stop, step))))
            return RecordTable(self.table.slice(start, stop - start))
        row = self.table.slice(index % len(self) if index < 0 else index, 1).to_pylist()
        if not row:
            raise IndexError(f"record {index} out of range ({len(self)} records)")
        values = {k: v for k, v in row[0].items() if v is not None}
        return VideoRecord(**values)


class ClipDataset(Dataset):
    """Sampled, decoded, transformed clips of ``records`` (see the module docstring for the steps and keys).

    Args:
        records: the videos; a list of :class:`VideoRecord` or a :class:`RecordTable`.
        root: directory that relative paths are resolved in (and may not leave); ``None``: paths are
            used as given.
        on_error: what a clip that fails to load does: ``"raise"`` (CorruptClipError naming the
            file), ``"skip"`` (log once, load another clip chosen from the item's seed), or a
            callable ``(error, record) -> sample | None`` (``None`` skips; raising propagates).
        threads: decoder threads per item (0 lets FFmpeg choose; 1 suits DataLoader workers).
        classes: label names by label_index, kept for the user (``dataset.classes``).
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        root: str | os.PathLike | None = None,
        *,
        sampling: SamplingOptions | None = None,
        spatial: SpatialOptions | None = None,
        modalities: Sequence[Modality] = ("rgb",),
        decoder: DecoderName = "pyav",
        threads: int = 1,
        transform: Callable[[dict], dict] | None = None,
        on_error: OnError = "raise",
        seed: int = 0,
        classes: Sequence[str] | None = None,
    ):
        modalities = tuple(modalities)
        bad = [m for m in modalities if m not in MODALITIES]
        if bad or not modalities or len(set(modalities)) != len(modalities):
            raise ValueError(f"modalities must be distinct values from {MODALITIES}, got {modalities!r}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
        if decoder == "torchcodec" and "rgb" in modalities:
            torchcodec_decoder()  # fail now, with the reason, rather than in every worker
        if not (callable(on_error) or on_error in ("raise", "skip")):
            raise ValueError(f"on_error must be 'raise', 'skip' or a callable, got {on_error!r}")
        if threads < 0:
            raise ValueError(f"threads must be >= 0, got {threads}")
        self.records = records
        self.layout = None if root is None else CorpusLayout(Path(root))
        self.sampling, self.spatial = self._protocol(True, sampling, spatial)
        self.modalities = modalities
        self.decoder = decoder
        self.threads = threads
        self.transform = transform
        self._transform_takes_generator = transform is not None and _takes_generator(transform)
        self.on_error = on_error
        self.seed = int(seed)
        self.epoch = 0
        self.classes = list(classes) if classes is not None else None
        self._probed: dict[str, VideoRecord] = {}  # filled lazily, per process
        self._reported: set[str] = set()

    @staticmethod
    def _protocol(
        train: bool, sampling: SamplingOptions | None, spatial: SpatialOptions | None
    ) -> tuple[SamplingOptions, SpatialOptions]:
        """The options given, else the I3D paper's: its training sampling and crops, or its test protocol."""
        return (
            sampling or (SamplingOptions.train() if train else SamplingOptions.test()),
            spatial or (SpatialOptions.train() if train else SpatialOptions.test()),
        )

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s randomness (as DistributedSampler.set_epoch; with persistent_workers the
        workers keep the epoch they started with, so recreate the iterator or pass it yourself)."""
        self.epoch = int(epoch)

    def generator(self, index: int, attempt: int = 0) -> torch.Generator:
        """The random stream of item ``index`` this epoch (``attempt`` > 0 for skip replacements)."""
        state = np.random.SeedSequence([self.seed, self.epoch, index, attempt]).generate_state(2, np.uint32)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"item {index} out of range ({len(self)} clips)")
        index = index % len(self)
        current = index
        for attempt in range(SKIP_ATTEMPTS + 1):
            generator = self.generator(index, attempt)
            record = self.records[current]
            try:
                sample = self.load(record, generator)
            except KineticsError as err:
                sample = self._handle(err, record)
                if sample is None:  # skip: another clip, chosen from this item's own seed
                    current = int(torch.randint(0, len(self), (1,), generator=generator))
                    continue
            sample.setdefault("index", current)
            return sample
        raise CorruptClipError(self.resolve(record.path), f"on_error='skip' found no loadable clip in {SKIP_ATTEMPTS} tries")

    def _handle(self, err: KineticsError, record: VideoRecord) -> dict | None:
        if callable(self.on_error):
            return self.on_error(err, record)
        if self.on_error == "raise":
            raise err
        if record.clip_id not in self._reported:
            self._reported.add(record.clip_id)
            log.warning("skipping clip %s: %s", record.clip_id, err)
        return None

    # -- one item --------------------------------------------------------------------------------
    def resolve(self, path: str) -> Path:
        if self.layout is None:
            return Path(path)
        return self.layout.resolve(path)

    def load(self, record: VideoRecord, generator: torch.Generator) -> dict:
        """Build the sample for ``record`` with ``generator`` (errors propagate: no on_error here)."""
        record = self._complete(record)
        flow = self._open_flow(record) if "flow" in self.modalities else None
        try:
            clip_frames = self._clip_frames(record, flow)
            windows = sample_windows(clip_frames, self.sampling, generator)
            height, width = (record.height, record.width) if "rgb" in self.modalities else (flow.height, flow.width)
            plan = self.spatial.plan(height, width, generator=generator)
            sample = {"label": int(record.label_index), "clip_id": record.clip_id}
            if "rgb" in self.modalities:
                sample["rgb"] = self._read_views(windows, lambda frames: self._rgb(record, frames, plan))
            if flow is not None:
                sample["flow"] = self._read_views(windows, lambda frames: self._flow(flow, frames, plan))
        finally:
            if flow is not None:
                flow.close()
        starts = [w.start_seconds(self.sampling.fps) for w in windows]
        sample["start_seconds"] = torch.tensor(starts, dtype=torch.float64) if self.sampling.stacked else starts[0]
        if self.transform is not None:
            sample = self.transform(sample, generator=generator) if self._transform_takes_generator else self.transform(sample)
        return sample

    def _read_views(self, windows: list[Window], read: Callable[[np.ndarray], torch.Tensor]) -> torch.Tensor:
        """``read`` (target frame indices -> ``[C, T, H, W]``) for each window, stacked ``[V, C, T, H, W]``
        when the sampling is. Windows that overlap (several views of a short clip) are read in one
        call, which decodes each frame once; windows far apart are read one by one, each seeking."""
        targets = [w.indices() for w in windows]
        if not self.sampling.stacked:
            return read(targets[0])
        every = np.concatenate(targets)
        if every.max() - every.min() < len(every):
            return torch.stack(read(every).chunk(len(targets), dim=1))
        return torch.stack([read(t) for t in targets])

    def _complete(self, record: VideoRecord) -> VideoRecord:
        if record.complete or "rgb" not in self.modalities:
            return record
        known = self._probed.get(record.clip_id)
        if known is None:
            info = probe_video(self.resolve(record.path))
            known = replace(
                record,
                fps=record.fps or info.fps,
                frames=record.frames if record.frames is not None else info.frames,
                width=record.width or info.width,
                height=record.height or info.height,
                duration_seconds=record.duration_seconds or info.duration_seconds,
            )
            self._probed[record.clip_id] = known
        return known

    def _clip_frames(self, record: VideoRecord, flow) -> int:
        if record.fps and record.frames:
            count = target_frame_count(record.frames, record.fps, self.sampling.fps)
        elif flow is not None:  # flow only, nothing known about the video: the flow file says
            count = target_frame_count(flow.num_fields + 1, flow.fps, self.sampling.fps)
        else:
            count = 0
        if count < 1:
            raise CorruptClipError(self.resolve(record.path), "the clip has no frames")
        return count

    def _rgb(self, record: VideoRecord, target: np.ndarray, plan: SpatialPlan) -> torch.Tensor:
        stored = stored_indices(target, record.fps, self.sampling.fps, record.frames)
        path = self.resolve(record.path)
        read = dict(hflip=plan.flip, decoder=self.decoder, threads=self.threads)
        if (plan.height, plan.width) == (record.height, record.width):  # no resize: crop and mirror while decoding
            return read_rgb(path, stored, box=plan.box, **read)
        rgb = read_rgb(path, stored, **read)  # mirrored already; resizing commutes with mirroring
        box = mirror_box(plan.box, plan.width) if plan.box is not None and plan.flip else plan.box
        return apply_plan(rgb, replace(plan, box=box, flip=False))

    def _open_flow(self, record: VideoRecord):
        if not record.flow_path:
            raise CorruptClipError(self.resolve(record.path), "no flow file for this clip (modalities include 'flow')")
        return FlowFile.open(self.resolve(record.flow_path))

    def _flow(self, flow, target: np.ndarray, plan: SpatialPlan) -> torch.Tensor:
        """Field ``k`` aligns with target frame ``k``; the last frame repeats the last field."""
        if flow.num_fields < 1:
            raise CorruptClipError(flow.path, "the flow file has no fields")
        fields = stored_indices(target, flow.fps, self.sampling.fps, flow.num_fields)
        quantised = flow.read_planar(fields)  # uint8 [2, T, H, W]
        if (flow.height, flow.width) != (plan.height, plan.width):
            return apply_plan(torch.from_numpy(dequantise(quantised)), plan, is_flow=True).contiguous()
        if plan.box is not None:  # crop and mirror the uint8 fields (views), then one copy to floats
            b = plan.box
            quantised = quantised[..., b.top : b.top + b.height, b.left : b.left + b.width]
        if plan.flip:
            quantised = quantised[..., ::-1]
        values = torch.from_numpy(dequantise(np.ascontiguousarray(quantised)))
        return negate_flow_x(values) if plan.flip else values


def _takes_generator(fn: Callable) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    return "generator" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
