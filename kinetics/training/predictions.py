"""Per-clip predictions as Parquet: what each stream said about each clip, for error analysis.

Columns: ``clip_id``, ``split``, ``label_index`` (-1: unlabelled), ``label``, ``predicted``,
``predicted_label``, ``correct``, ``top5`` (list<int32>), and ``logits_<stream>`` as
fixed_size_list<float32>[classes] for each of ``rgb``, ``flow`` and (when both) ``two_stream``,
the fused scores that ``predicted`` is taken from. Written to a hidden sibling and renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from kinetics.files import atomic_output
from kinetics.errors import KineticsError


def fixed_size_floats(matrix: torch.Tensor | np.ndarray) -> pa.FixedSizeListArray:
    """[N, D] floats as a fixed_size_list<float32>[D] column (zero-copy from a contiguous float32 array)."""
    values = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32))
    width = values.shape[1] if values.ndim == 2 else 0
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), width)


def write_table_atomic(table: pa.Table, path: str | os.PathLike) -> Path:
    """Parquet to a hidden temporary sibling, then renamed into place (``publish``)."""
    path = Path(path)
    try:
        with atomic_output(path) as temp:
            pq.write_table(table, temp, compression="zstd")
    except OSError as err:
        raise KineticsError(f"{path}: cannot write: {err.strerror or err}") from err
    return path


def predictions_table(
    *,
    clip_ids: list[str],
    labels: torch.Tensor,
    logits: dict[str, torch.Tensor],
    split: str,
    class_names: list[str] | None,
) -> pa.Table:
    """One row per clip; the prediction is from ``logits['two_stream']`` when present, else the one stream."""
    scores = logits.get("two_stream", next(iter(logits.values())))
    k = min(5, scores.shape[1]) if scores.numel() else 0
    top = scores.topk(k, dim=1).indices if k else torch.empty(len(clip_ids), 0, dtype=torch.int64)
    predicted = top[:, 0] if k else torch.full((len(clip_ids),), -1)
    names = class_names or []

    def name(index: int) -> str | None:
        return names[index] if 0 <= index < len(names) and names[index] else None

    columns = {
        "clip_id": pa.array(clip_ids, pa.string()),
        "split": pa.array([split] * len(clip_ids), pa.string()),
        "label_index": pa.array(labels.tolist(), pa.int32()),
        "label": pa.array([name(i) for i in labels.tolist()], pa.string()),
        "predicted": pa.array(predicted.tolist(), pa.int32()),
        "predicted_label": pa.array([name(i) for i in predicted.tolist()], pa.string()),
        "correct": pa.array([(p == y) if y >= 0 else None for p, y in zip(predicted.tolist(), labels.tolist())],
                            pa.bool_()),
        "top5": pa.array(top.tolist(), pa.list_(pa.int32())),
    }
    for stream, values in logits.items():
        columns[f"logits_{stream}"] = fixed_size_floats(values)
    return pa.table(columns)
