"""Results of ``kinetics evaluate --predictions FILE``: accuracy beside the paper, per class, and the confusions.

Everything comes from the per-clip predictions table (``kinetics.training.predictions``): top-1 and
top-5 of the prediction the file records (the fused one for two streams) and of each stream's
logits; per-class accuracy over every class, sorted; and the most confused class pairs, which stay
readable at 400 or 700 classes where a full confusion matrix does not.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kinetics.report.html import Section, paragraph, percent, table
from kinetics.report.plots import figure_uri, new_figure
from kinetics.training.paper import KINETICS_TEST_NOTE, kinetics_figures

REQUIRED = ("label_index", "predicted")
CONFUSED_PAIRS = 20
NAMED_CLASSES = 15
_STREAMS = {"logits_rgb": "rgb", "logits_flow": "flow", "logits_two_stream": "two-stream"}


def results_section(path: str | os.PathLike | None) -> Section | None:
    if path is None:
        return None
    path = Path(path)
    section = Section("results", "Results", f"From {path.name}, the per-clip predictions kinetics evaluate --predictions wrote. "
                      f"Unlabelled clips are left out of every figure.")
    try:  # the logits (classes x clips floats) are read only where a stream's own accuracy needs them
        names_in_file = pq.read_schema(path).names
        table_ = pq.read_table(path, columns=[c for c in names_in_file if not c.startswith("logits_")])
    except (OSError, pa.ArrowException) as err:
        section.note_missing(f"cannot read predictions {path}: {err}")
        return section
    absent = [c for c in REQUIRED if c not in table_.column_names]
    if absent:
        section.note_missing(f"{path} is not a predictions file of kinetics evaluate: no column {', '.join(absent)}")
        return section
    labels = table_.column("label_index").to_numpy(zero_copy_only=False).astype(np.int64)
    keep = labels >= 0
    if not keep.any():
        section.note_missing(f"{path}: no labelled clip (the split is unlabelled): no accuracy to show")
        return section
    table_ = table_.filter(pa.array(keep))
    labels = labels[keep]
    predicted = table_.column("predicted").to_numpy(zero_copy_only=False).astype(np.int64)
    names = _class_names(table_)
    streams = [(name, column) for column, name in _STREAMS.items() if column in names_in_file]
    _overall(section, table_, labels, predicted, streams, lambda column: _scores(pq.read_table(path, columns=[column]).column(0))[keep])
    _per_class(section, labels, predicted, names)
    _confusions(section, labels, predicted, names)
    return section


def _overall(section: Section, table_: pa.Table, labels: np.ndarray, predicted: np.ndarray, streams: list[tuple[str, str]],
             read_scores) -> None:
    """Top-1 / top-5 of the recorded prediction and, with several streams, of each stream's own logits."""
    rows = []
    top5 = _top5_hits(table_.column("top5"), labels) if "top5" in table_.column_names else None
    recorded = streams[-1][0] if streams else "recorded prediction"
    rows.append((f"{recorded} (the file's prediction)", len(labels), percent(float(np.mean(predicted == labels))),
                 percent(None if top5 is None else float(np.mean(top5))), percent(_mean_class(labels, predicted))))
    for name, column in streams[:-1] if len(streams) > 1 else []:
        scores = read_scores(column)
        own = scores.argmax(axis=1)
        hits5 = (np.argpartition(-scores, min(5, scores.shape[1]) - 1, axis=1)[:, :5] == labels[:, None]).any(axis=1)
        rows.append((name, len(labels), percent(float(np.mean(own == labels))), percent(float(np.mean(hits5))),
                     percent(_mean_class(labels, own))))
    section.add(table(["stream", "clips", "top-1", "top-5", "mean class"], rows, caption="This evaluation",
                      table_id="results-overall"))
    figures = [f for name, _ in streams for f in kinetics_figures(name)]  # Table 3 rows of every stream evaluated
    if figures:
        section.add(table(["the paper", "top-1", "top-5"], [(f.describe().split(": ", 1)[1], f"{f.top1}%",
                          "-" if f.top5 is None else f"{f.top5}%") for f in figures], caption="The paper's figures (Table 3)"))
        section.add(paragraph(f"Note: {KINETICS_TEST_NOTE}."))


def _per_class(section: Section, labels: np.ndarray, predicted: np.ndarray, names: dict[int, str]) -> None:
    classes = np.unique(labels)
    correct = np.bincount(labels, weights=(predicted == labels).astype(float), minlength=classes.max() + 1)
    clips = np.bincount(labels, minlength=classes.max() + 1)
    accuracy = correct[classes] / clips[classes]
    order = np.argsort(accuracy, kind="stable")
    figure = new_figure(11, 3.2)
    axes = figure.add_subplot()
    axes.bar(np.arange(len(classes)), accuracy[order], 1.0, color="#3a6ea5", linewidth=0)
    axes.axhline(float(np.mean(accuracy)), color="#d1495b", linewidth=1, label=f"mean class accuracy {100 * np.mean(accuracy):.1f}%")
    axes.set_xlim(-0.5, len(classes) - 0.5)
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"{len(classes)} classes with labelled clips, sorted by top-1 accuracy")
    axes.set_ylabel("top-1 accuracy")
    axes.legend(fontsize=8, frameon=False, loc="upper left")
    section.figure(figure_uri(figure), "Top-1 accuracy of every class, sorted (worst on the left)")
    shown = list(order[:NAMED_CLASSES]) + [i for i in order[::-1][:5] if i not in order[:NAMED_CLASSES]]
    rows = [(names.get(int(classes[i]), str(classes[i])), int(clips[classes[i]]), percent(float(accuracy[i]))) for i in shown]
    section.add(table(["class", "clips", "top-1"], rows, caption=f"The {min(NAMED_CLASSES, len(classes))} worst classes, then the best",
                      table_id="per-class"))


def _confusions(section: Section, labels: np.ndarray, predicted: np.ndarray, names: dict[int, str]) -> None:
    wrong = predicted != labels
    if not wrong.any():
        section.add(paragraph("Every labelled clip was predicted right: no confusion to show."))
        return
    width = int(max(labels.max(), predicted.max())) + 1
    pairs, counts = np.unique(labels[wrong] * width + predicted[wrong], return_counts=True)
    order = np.argsort(-counts, kind="stable")[:CONFUSED_PAIRS]
    clips = np.bincount(labels, minlength=width)
    rows = []
    for i in order:
        true, guess = divmod(int(pairs[i]), width)
        rows.append((names.get(true, str(true)), names.get(guess, str(guess)), int(counts[i]), percent(counts[i] / clips[true])))
    section.add(table(["true class", "predicted as", "clips", "share of the true class"], rows,
                      caption=f"The {len(rows)} most confused pairs", table_id="confused-pairs", numeric_from=2))
    involved = list(dict.fromkeys(c for i in order for c in divmod(int(pairs[i]), width)))[:24]
    matrix = np.zeros((len(involved), len(involved)))
    position = {c: k for k, c in enumerate(involved)}
    mask = np.isin(labels, involved) & np.isin(predicted, involved)
    for true, guess in zip(labels[mask], predicted[mask]):
        matrix[position[int(true)], position[int(guess)]] += 1
    matrix /= np.maximum(clips[involved][:, None], 1)
    side = min(8.0, 3.0 + 0.22 * len(involved))
    figure = new_figure(side + 1.5, side)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="viridis", vmin=0, vmax=max(float(matrix.max()), 1e-9))
    ticks = [names.get(c, str(c))[:28] for c in involved]
    axes.set_xticks(range(len(involved)), ticks, rotation=90, fontsize=7)
    axes.set_yticks(range(len(involved)), ticks, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    figure.colorbar(image, ax=axes, shrink=0.7, label="share of the true class's clips")
    section.figure(figure_uri(figure), f"Confusion among the {len(involved)} classes of the most confused pairs "
                                       "(rows: true class; the diagonal is accuracy)")


def _class_names(table_: pa.Table) -> dict[int, str]:
    names: dict[int, str] = {}
    for index_column, name_column in (("label_index", "label"), ("predicted", "predicted_label")):
        if name_column in table_.column_names:
            pairs = pa.table({"i": table_.column(index_column), "n": table_.column(name_column)}).group_by(["i", "n"]).aggregate([])
            names.update({i: n for i, n in zip(pairs.column("i").to_pylist(), pairs.column("n").to_pylist()) if n is not None})
    return names


def _top5_hits(column: pa.ChunkedArray, labels: np.ndarray) -> np.ndarray:
    lists = column.combine_chunks()
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    hits = np.bincount(parents, weights=(flat == labels[parents]).astype(float), minlength=len(labels))
    return hits > 0


def _scores(column: pa.ChunkedArray) -> np.ndarray:
    lists = column.combine_chunks()
    width = lists.type.list_size
    return lists.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def _mean_class(labels: np.ndarray, predicted: np.ndarray) -> float:
    _, inverse = np.unique(labels, return_inverse=True)
    correct = np.bincount(inverse, weights=(predicted == labels).astype(float))
    return float(np.mean(correct / np.bincount(inverse)))
