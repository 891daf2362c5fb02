"""Training curves from a run directory: loss and accuracy per epoch, from ``metrics.jsonl``.

``kinetics train --out DIR`` writes ``DIR/metrics.jsonl``; ``kinetics transfer --mode full`` writes
one run directory per split and stream under its ``--out``, so a directory without the file of
its own is searched one level down. A line that is not JSON (a run killed mid-write) is skipped
and counted, not fatal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kinetics.report.html import Section, table
from kinetics.report.plots import figure_uri, new_figure
from kinetics.training.logbook import METRICS_FILE


def runs_section(directory: str | os.PathLike | None) -> Section | None:
    if directory is None:
        return None
    directory = Path(directory)
    section = Section("runs", "Training runs", f"Loss and accuracy per epoch from {METRICS_FILE} under {directory}: "
                      "train loss is the clip-weighted mean over each epoch's steps; validation is measured once per epoch.")
    if not directory.is_dir():
        section.note_missing(f"run directory {directory} does not exist")
        return section
    files = [directory / METRICS_FILE] if (directory / METRICS_FILE).is_file() else sorted(directory.glob(f"*/{METRICS_FILE}"))
    if not files:
        section.note_missing(f"no {METRICS_FILE} in {directory} or its subdirectories: is it a kinetics train / transfer --out directory?")
        return section
    for path in files:
        _one_run(section, path, name=path.parent.name if path.parent != directory else directory.name)
    return section


def _one_run(section: Section, path: Path, *, name: str) -> None:
    records, bad = _read(path)
    if bad:
        section.note_missing(f"{path}: {bad} line(s) are not JSON records and were skipped (a run stopped mid-write?)")
    train = [r for r in records if r.get("event") == "train" and _number(r.get("loss"))]
    val = [r for r in records if r.get("event") == "val" and _number(r.get("loss"))]
    if not train and not val:
        section.note_missing(f"{path}: no train or val metrics recorded yet")
        return
    epochs = sorted({int(r["epoch"]) for r in train if _number(r.get("epoch"))})
    train_loss = [_weighted([r for r in train if r.get("epoch") == e]) for e in epochs]
    figure = new_figure(11, 3.4)
    steps_axes, epoch_axes, accuracy_axes = figure.subplots(1, 3)
    steps_axes.plot([r["step"] for r in train], [r["loss"] for r in train], linewidth=1, color="#3a6ea5")
    steps_axes.set_xlabel("step")
    steps_axes.set_ylabel("train loss (logged windows)")
    if epochs:
        epoch_axes.plot(epochs, train_loss, marker="o", label="train")
    if val:
        epoch_axes.plot([r["epoch"] for r in val], [r["loss"] for r in val], marker="o", label="val")
        scored = [r for r in val if _number(r.get("top1"))]
        accuracy_axes.plot([r["epoch"] for r in scored], [100 * r["top1"] for r in scored], marker="o", color="#4c9a2a")
        accuracy_axes.set_ylabel("val top-1 (%)")
    else:
        section.note_missing(f"{path}: no validation records (the run had no validation split): no accuracy curve")
        accuracy_axes.text(0.5, 0.5, "no validation records", ha="center", va="center", transform=accuracy_axes.transAxes)
    epoch_axes.set_xlabel("epoch")
    epoch_axes.set_ylabel("loss")
    epoch_axes.legend(fontsize=8, frameon=False)
    accuracy_axes.set_xlabel("epoch")
    section.figure(figure_uri(figure), f"{name}: train loss per logged window, loss per epoch, validation top-1 per epoch")
    rows = []
    for epoch, loss in zip(epochs, train_loss):
        v = next((r for r in val if r.get("epoch") == epoch), None)
        rows.append((epoch, loss, None if v is None else v["loss"], None if v is None or not _number(v.get("top1")) else f"{100 * v['top1']:.1f}%"))
    summary = next((r for r in reversed(records) if r.get("event") == "summary"), None)
    caption = f"{name}: per epoch" + ("" if summary else " (no summary record: the run has not finished, or was stopped)")
    section.add(table(["epoch", "train loss", "val loss", "val top-1"], rows, caption=caption, table_id=f"run-{name}"))


def _read(path: Path) -> tuple[list[dict], int]:
    records, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(value, dict):
                records.append(value)
            else:
                bad += 1
    return records, bad


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _weighted(rows: list[dict]) -> float:
    weights = np.array([r.get("clips") or 1 for r in rows], dtype=float)
    return float(np.average([r["loss"] for r in rows], weights=weights))
