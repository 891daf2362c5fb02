"""Stored clips: distributions of duration, frame rate, resolution and file size of the ok clips.

Read from the index (what each download measured when it published the file), aggregated with
NumPy: histograms and top-N counts, never one element per clip, so the section is the same size
for 300 clips and for 650,000.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from kinetics.corpus.index import CorpusIndex
from kinetics.report.html import Section, table
from kinetics.report.plots import figure_uri, new_figure

TOP_RESOLUTIONS = 10
TOP_RATES = 10


def stored_section(index: CorpusIndex | None) -> Section:
    section = Section("stored", "Stored clips",
                      "What the ok clips are, as measured when each file was published: duration, frame rate, "
                      "resolution and file size.")
    if index is None:
        section.note_missing("no corpus index: no stored clips")
        return section
    state = index.clip_state(columns=["status", "duration", "fps", "width", "height", "bytes"])
    ok = state.filter(pc.fill_null(pc.equal(state.column("status"), "ok"), False))
    if ok.num_rows == 0:
        section.note_missing("no ok clips in the index: nothing stored to describe")
        return section
    values = {name: ok.column(name).to_numpy(zero_copy_only=False).astype(float) for name in ("duration", "fps", "width", "height", "bytes")}
    figure = new_figure(11, 5.4)
    (dur, rate), (res, size) = figure.subplots(2, 2)
    _histogram(dur, values["duration"], "duration (s)")
    _top_bars(rate, _rounded(values["fps"], 2), TOP_RATES, "frame rate (fps)")
    area = np.where(np.isfinite(values["width"]) & np.isfinite(values["height"]), values["width"] * 100_000 + values["height"], np.nan)
    _top_bars(res, area, TOP_RESOLUTIONS, "resolution (width x height)", name=lambda v: f"{int(v // 100_000)}x{int(v % 100_000)}")
    megabytes = values["bytes"] / 1e6
    _histogram(size, megabytes, "file size (MB)", log=True)
    section.figure(figure_uri(figure), f"Distributions over the {ok.num_rows:,} ok clips (clips with a value not recorded are left out)")
    rows = []
    for name, unit, data in (("duration", "s", values["duration"]), ("frame rate", "fps", values["fps"]),
                             ("width", "px", values["width"]), ("height", "px", values["height"]), ("file size", "MB", megabytes)):
        finite = data[np.isfinite(data)]
        if finite.size:
            p5, median, p95 = np.percentile(finite, [5, 50, 95])
            rows.append((f"{name} ({unit})", int(finite.size), float(finite.min()), float(p5), float(median), float(p95), float(finite.max())))
        else:
            rows.append((f"{name} ({unit})", 0, None, None, None, None, None))
    section.add(table(["measure", "clips", "min", "5%", "median", "95%", "max"], rows, table_id="stored-stats"))
    total = np.nansum(values["bytes"])
    section.add(table(["", "value"], [("ok clips", ok.num_rows), ("total size (GB)", float(total / 1e9))], table_id="stored-total"))
    return section


def _rounded(values: np.ndarray, digits: int) -> np.ndarray:
    return np.round(values, digits)


def _histogram(axes, data: np.ndarray, label: str, *, log: bool = False) -> None:
    finite = data[np.isfinite(data) & ((data > 0) if log else True)]
    if not finite.size:
        axes.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=axes.transAxes)
        axes.set_xlabel(label)
        return
    low, high = float(finite.min()), float(finite.max())
    if log and high > low * 1.5:
        bins = np.geomspace(low, high, 40)
        axes.set_xscale("log")
    elif high - low <= 1e-6 * max(abs(high), 1e-12):  # one value: a visible bar, not a zoom into rounding noise
        bins = np.linspace(low * 0.9, high * 1.1 if high else 1.0, 21)
    else:
        bins = np.linspace(low, high, 41)
    axes.hist(finite, bins=bins, color="#3a6ea5")
    if not log or high <= low * 1.5:
        axes.ticklabel_format(axis="x", useOffset=False, style="plain")
    axes.set_xlabel(label)
    axes.set_ylabel("clips")


def _top_bars(axes, data: np.ndarray, top: int, label: str, *, name=lambda v: f"{v:g}") -> None:
    finite = data[np.isfinite(data)]
    if not finite.size:
        axes.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=axes.transAxes)
        axes.set_xlabel(label)
        return
    keys, counts = np.unique(finite, return_counts=True)
    order = np.argsort(-counts)[:top]
    names = [name(k) for k in keys[order]]
    other = int(counts.sum() - counts[order].sum())
    heights = list(counts[order])
    if other:
        names.append(f"{len(keys) - len(order)} others")
        heights.append(other)
    positions = np.arange(len(names))
    axes.barh(positions, heights, color="#3a6ea5")
    axes.set_yticks(positions, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"clips by {label}")
