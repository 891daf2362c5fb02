"""Figures for the report: matplotlib without pyplot, rendered by Agg, embedded as base64 PNG.

``Figure()`` with an Agg canvas never touches pyplot's global state or the process's backend
setting, so building a report inside a notebook or a GUI program changes nothing there, and no
display is needed. Each figure becomes a ``data:image/png;base64,...`` URI: the page stays one
self-contained file.
"""

from __future__ import annotations

import base64
import io

import numpy as np

#: the report's colours per clip state, the same in every chart
STATE_COLOURS = {"ok": "#4c9a2a", "missing": "#b8b8b8", "failed": "#d1495b", "pending": "#edae49", "broken": "#7b2cbf"}
DPI = 80


def new_figure(width_inches: float, height_inches: float):
    """A Figure on an Agg canvas (headless; pyplot untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_inches, height_inches), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure, *, dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_uri(figure, *, dpi: int = DPI) -> str:
    return data_uri(png_bytes(figure, dpi=dpi))


def stacked_bars(axes, categories: list[str], series: dict[str, np.ndarray], *, horizontal: bool = False,
                 colours: dict[str, str] | None = None, width: float = 0.8) -> None:
    """Bars of ``series`` (name -> values per category) stacked in order, with a legend."""
    colours = colours or STATE_COLOURS
    positions = np.arange(len(categories))
    bottom = np.zeros(len(categories))
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        if not values.any():
            continue
        draw = axes.barh if horizontal else axes.bar
        kwargs = {"left": bottom} if horizontal else {"bottom": bottom}
        draw(positions, values, width, label=name, color=colours.get(name), linewidth=0, **kwargs)
        bottom = bottom + values
    from matplotlib.ticker import StrMethodFormatter

    counts_axis = axes.xaxis if horizontal else axes.yaxis
    counts_axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if horizontal:
        axes.set_yticks(positions, categories, fontsize=8)
        axes.invert_yaxis()
    else:
        axes.set_xticks(positions, categories, fontsize=8)
    if axes.get_legend_handles_labels()[0]:  # above the axes: never over a bar
        axes.legend(fontsize=8, frameon=False, ncols=min(5, len(series)), loc="lower left", bbox_to_anchor=(0, 1.0))
