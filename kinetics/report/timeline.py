"""Attempts over time: ok / missing / failed per hour from the index's ``finished_at`` stamps.

Every attempt is a row of the clips journal, retries included, so the chart shows the work as it
happened: a wall of ``failed`` starting at one hour is where throttling began (or yt-dlp broke).
Bins are hours; a corpus downloaded over more than ``MAX_HOURLY_BINS`` hours is binned by day.
``audit --fix`` rows are bookkeeping, not downloads, and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from kinetics.corpus.index import CorpusIndex
from kinetics.report.html import Section, table
from kinetics.report.plots import STATE_COLOURS, figure_uri, new_figure

MAX_HOURLY_BINS = 24 * 60
TOP_FAILED_REASONS = 4


def timeline_section(index: CorpusIndex | None) -> Section:
    section = Section("timeline", "Attempts over time",
                      "Download attempts per time bin by outcome, from the index's finished_at stamps (UTC). "
                      "A rise of failed attempts from one bin on marks throttling or a broken yt-dlp.")
    if index is None:
        section.note_missing("no corpus index: no attempts to plot")
        return section
    history = index.clips.read(["finished_at", "status", "reason", "source"], pc.field("source") != "audit")
    if history.num_rows == 0:
        section.note_missing("the index records no download attempt yet")
        return section
    frame = history.to_pandas()
    frame = frame[frame["finished_at"].notna()]
    span_hours = (frame["finished_at"].max() - frame["finished_at"].min()).total_seconds() / 3600
    unit, freq = ("hour", "h") if span_hours <= MAX_HOURLY_BINS else ("day", "D")
    frame["bin"] = frame["finished_at"].dt.floor(freq)
    bins = pd.date_range(frame["bin"].min(), frame["bin"].max(), freq=freq)
    counts = frame.groupby(["bin", "status"]).size().unstack(fill_value=0).reindex(bins, fill_value=0)
    failed = frame[frame["status"] == "failed"]
    reasons = failed.groupby(["bin", "reason"]).size().unstack(fill_value=0).reindex(bins, fill_value=0)
    top = list(reasons.sum().sort_values(ascending=False).index[:TOP_FAILED_REASONS])

    figure = new_figure(11, 4.8)
    upper, lower = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    width = pd.Timedelta(1, freq) * 0.9
    bottom = np.zeros(len(bins))
    for state in ("ok", "missing", "failed"):
        if state in counts:
            values = counts[state].to_numpy()
            upper.bar(bins, values, width=width, bottom=bottom, color=STATE_COLOURS[state], label=state, align="edge", linewidth=0)
            bottom += values
    upper.set_ylabel(f"attempts per {unit}")
    upper.legend(fontsize=8, frameon=False, ncols=3)
    totals = np.maximum(counts.sum(axis=1).to_numpy(), 1)
    for reason in top:
        lower.plot(bins + width / 2, reasons[reason].to_numpy() / totals, label=f"failed: {reason}", linewidth=1.2)
    lower.set_ylim(0, 1)
    lower.set_ylabel("share of attempts")
    if top:
        lower.legend(fontsize=7, frameon=False, ncols=min(4, len(top)))
    figure.autofmt_xdate()
    section.figure(figure_uri(figure), f"Attempts per {unit} by outcome (top) and the share that failed, by reason (bottom)")

    summary = [("attempts recorded", len(frame)), ("first attempt (UTC)", str(frame["finished_at"].min())),
               ("last attempt (UTC)", str(frame["finished_at"].max())), (f"{unit}s with attempts", int((counts.sum(axis=1) > 0).sum()))]
    share = counts.get("failed", pd.Series(0, index=bins)) / counts.sum(axis=1).replace(0, np.nan)
    busy = counts.sum(axis=1) >= max(10, 0.05 * counts.sum(axis=1).max())
    mostly_failed = share[(share > 0.5) & busy]
    if len(mostly_failed):
        first = mostly_failed.index[0]
        reason = reasons.loc[first].idxmax() if first in reasons.index and reasons.loc[first].sum() else "unknown"
        summary.append((f"first busy {unit} where most attempts failed", f"{first} UTC ({100 * mostly_failed.iloc[0]:.0f}% failed, mostly {reason})"))
    section.add(table(["", "value"], summary, numeric_from=1, table_id="timeline-summary"))
    return section
