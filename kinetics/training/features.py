"""``extract_features(FeatureOptions)``: the pooled 1024-d I3D embedding of every clip, to Parquet.

For linear probes, retrieval and FVD-style statistics. Each clip is read with the test protocol
(whole clip, centre crop; optionally several views, averaged) and passed through ``I3D.embed``
(Mixed_5c averaged over time and space, before dropout and the logits).

The unit of work is :func:`embed_batch`, a plain picklable function of a :class:`ClipBatch` (a
few clips' index records) that an executor (``--executor local|ray --jobs N``) runs anywhere; the
model is loaded once per worker by the executor's setup hook (:func:`load_worker_model`). The
driver alone writes the output: rows are appended as batches finish (in any order) to a hidden
file that is renamed into place at the end.

Output columns: ``clip_id``, ``label`` (name, null when unlabelled), ``label_index``, ``split``,
``embedding`` (fixed_size_list<float32>[1024]).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kinetics.data.clips import VideoRecord
from kinetics.errors import CorpusError
from kinetics.models.architecture import EMBEDDING_CHANNELS
from kinetics.training.predictions import fixed_size_floats
from kinetics.training.options import FeatureOptions, TestInput

FEATURE_SCHEMA = pa.schema([
    ("clip_id", pa.string()),
    ("label", pa.string()),
    ("label_index", pa.int32()),
    ("split", pa.string()),
    ("embedding", pa.list_(pa.float32(), EMBEDDING_CHANNELS)),
])


@dataclass(frozen=True)
class FeatureJob:
    """What every worker needs to embed clips (sent once, with the setup hook and each batch)."""

    root: str
    checkpoint: str
    stream: str
    test_input: TestInput
    device: str
    precision: str
    threads: int
    cache_dir: str | None
    base_url: str | None


@dataclass(frozen=True)
class ClipBatch:
    """A few clips of one split, as index records (no file is opened until a worker loads them)."""

    split: str
    records: tuple[VideoRecord, ...]


@dataclass(frozen=True)
class EmbeddedBatch:
    split: str
    clip_ids: tuple[str, ...]
    label_indices: tuple[int, ...]
    embeddings: np.ndarray  # float32 [n, 1024]
    failed: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FeatureSummary:
    out: str
    clips: int
    failed: tuple[tuple[str, str], ...]
    splits: tuple[str, ...]
    dimensions: int
    elapsed_seconds: float

    def as_dict(self) -> dict:
        return {"out": self.out, "clips": self.clips, "failed": [{"clip_id": c, "message": m} for c, m in self.failed],
                "splits": list(self.splits), "dimensions": self.dimensions,
                "elapsed_seconds": round(self.elapsed_seconds, 3)}


# -- worker side -----------------------------------------------------------------------------------
_WORKER: dict = {}  # job -> (model, device, amp), filled once per worker process by the setup hook


def load_worker_model(job: FeatureJob) -> None:
    """Executor setup hook: load the model into this worker (once) and set its thread count."""
    import torch

    from kinetics.training.distributed import resolve_device, use_amp
    from kinetics.training.initialise import load_stream_model

    if job in _WORKER:
        return
    torch.set_num_threads(max(1, job.threads))
    device = resolve_device(job.device)
    model = load_stream_model(job.checkpoint, stream=job.stream, cache_dir=job.cache_dir, base_url=job.base_url)
    _WORKER.clear()
    _WORKER[job] = (model.to(device).eval(), device, use_amp(job.precision, device))


def embed_batch(batch: ClipBatch, *, job: FeatureJob) -> EmbeddedBatch:
    """Load and embed the clips of ``batch`` (the unit of work); clips that fail to load are reported, not raised."""
    from kinetics.data.clips import ClipDataset
    from kinetics.training.inference import run_streams
    from kinetics.training.inputs import RecordFailure, make_loader

    load_worker_model(job)
    model, device, amp = _WORKER[job]
    read = job.test_input
    dataset = ClipDataset(list(batch.records), job.root, modalities=(job.stream,), sampling=read.sampling(),
                          spatial=read.spatial(), transform=read.transform(), on_error=RecordFailure())
    loader = make_loader(dataset, batch_size=len(dataset), workers=0)
    outputs = run_streams({job.stream: model}, loader, device=device, amp=amp, output="embedding")
    return EmbeddedBatch(batch.split, tuple(outputs.clip_ids), tuple(outputs.labels.tolist()),
                         outputs.values[job.stream].numpy().astype(np.float32).reshape(-1, EMBEDDING_CHANNELS),
                         outputs.failed)


# -- driver side -----------------------------------------------------------------------------------
def extract_features(options: FeatureOptions) -> FeatureSummary:
    """Embed every ok clip of ``options.split`` (or of every split) and write ``options.out``."""
    from kinetics.files import publish, temp_path
    from kinetics.executors import Resources, make_executor
    from kinetics.models.checkpoints import open_checkpoint
    from kinetics.progress import Progress
    from kinetics.training.initialise import stream_of

    started = time.perf_counter()
    checkpoint = open_checkpoint(options.checkpoint, cache_dir=options.cache_dir, base_url=options.base_url)
    stream = stream_of(checkpoint.in_channels, source=options.checkpoint)
    del checkpoint
    batches, class_names = _plan(options, stream)
    threads = options.threads or max(1, (os.cpu_count() or 1) // options.jobs)
    job = FeatureJob(str(options.root), str(options.checkpoint), stream, options.test_input(), options.device,
                     options.precision, threads, options.cache_dir, options.base_url)
    total = sum(len(b.records) for b in batches)
    failed: list[tuple[str, str]] = []
    written = 0
    options.out.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(options.out)
    # Ray: one GPU per worker, where the cluster has any (device auto) or always (cuda); none for cpu
    resources = Resources(cpus=float(threads), gpus=0.0 if options.device == "cpu" else 1.0, optional_gpus=options.device == "auto")
    try:
        with pq.ParquetWriter(temp, FEATURE_SCHEMA, compression="zstd") as writer, \
                Progress(total, description="features", show=options.progress) as progress, \
                make_executor(options.executor, jobs=options.jobs, address=options.address,
                              resources=resources, root=options.root) as executor:
            work = executor.map_unordered(functools.partial(embed_batch, job=job), batches,
                                          setup=functools.partial(load_worker_model, job))
            for outcome in work:
                if not outcome.ok:  # the worker itself died: every clip of the batch failed
                    message = f"{type(outcome.error).__name__}: {outcome.error}"
                    failed.extend((r.clip_id, message) for r in outcome.item.records)
                    progress.update("failed", len(outcome.item.records))
                    continue
                result: EmbeddedBatch = outcome.result
                writer.write_table(_rows(result, class_names[result.split]))
                written += len(result.clip_ids)
                failed.extend(result.failed)
                progress.update("ok", len(result.clip_ids))
                if result.failed:
                    progress.update("failed", len(result.failed))
        publish(temp, options.out)
    finally:
        temp.unlink(missing_ok=True)
    return FeatureSummary(str(options.out), written, tuple(failed), tuple(class_names), EMBEDDING_CHANNELS,
                          time.perf_counter() - started)


def _plan(options: FeatureOptions, stream: str) -> tuple[list[ClipBatch], dict[str, list[str] | None]]:
    """Work items of ``batch_clips`` records per split (in index order), and each split's class names."""
    from kinetics.data.dataset import KineticsDataset

    splits = [options.split] if options.split else _splits_with_clips(options.root)
    batches: list[ClipBatch] = []
    class_names: dict[str, list[str] | None] = {}
    remaining = options.limit
    for split in splits:
        dataset = KineticsDataset(options.root, split, modalities=(stream,), flow_method=options.flow_method)
        class_names[split] = dataset.classes
        records = dataset.records
        count = len(records) if remaining is None else min(len(records), remaining)
        for start in range(0, count, options.batch_clips):
            chunk = records[start:min(start + options.batch_clips, count)]
            batches.append(ClipBatch(split, tuple(chunk)))
        if remaining is not None:
            remaining -= count
    if not batches:
        raise CorpusError(f"{options.root}: no ok clips{f' in split {options.split!r}' if options.split else ''} to embed")
    return batches, class_names


def _splits_with_clips(root: Path) -> list[str]:
    from kinetics.corpus.index import CorpusIndex

    index = CorpusIndex(root)
    if not index.exists():
        raise CorpusError(f"{root} has no index (index/clips): not a corpus root")
    state = index.clip_state(columns=["split", "status"])
    return sorted({s for s, st in zip(state.column("split").to_pylist(), state.column("status").to_pylist())
                   if st == "ok" and s})


def _rows(result: EmbeddedBatch, names: list[str] | None) -> pa.Table:
    names = names or []
    labels = [names[i] if 0 <= i < len(names) and names[i] else None for i in result.label_indices]
    return pa.Table.from_arrays([
        pa.array(result.clip_ids, pa.string()), pa.array(labels, pa.string()),
        pa.array(result.label_indices, pa.int32()), pa.array([result.split] * len(result.clip_ids), pa.string()),
        fixed_size_floats(result.embeddings),
    ], schema=FEATURE_SCHEMA)
