"""The I3D paper's published accuracies, and which of them a given result can be compared with.

Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017 (arXiv 1705.07750 v3), as
transcribed in /work/shared/notes/i3d.md section 5. Kinetics figures are on the **held-out test
set**, which is not public: a result on val (or on the subset of clips a user could download) is
a baseline beside them, not a reproduction of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

PaperStream = Literal["rgb", "flow", "two-stream"]
Pretraining = Literal["imagenet+kinetics", "kinetics"]

KINETICS_TEST_NOTE = (
    "the paper's Kinetics-400 figures are on the held-out test set (labels not public); these results are on "
    "the clips of this corpus, so they compare with, but do not reproduce, the paper's numbers"
)


@dataclass(frozen=True)
class PaperFigure:
    """One published accuracy (percent) and exactly what it measured."""

    table: str
    dataset: str
    stream: PaperStream
    pretraining: Pretraining
    protocol: str
    top1: float
    top5: float | None = None

    def describe(self) -> str:
        top5 = "" if self.top5 is None else f" (top-5 {self.top5})"
        return (f"{self.top1}{top5}: {self.table}, {self.dataset}, {self.stream} I3D, "
                f"{'ImageNet then Kinetics' if self.pretraining == 'imagenet+kinetics' else 'Kinetics only'}, {self.protocol}")

    def as_dict(self) -> dict:
        return asdict(self)


_T3 = "Kinetics-400 held-out test set"
_T3_PROTOCOL = "whole clip, centre crop, averaged over time"
KINETICS: tuple[PaperFigure, ...] = (
    PaperFigure("Table 3", _T3, "rgb", "imagenet+kinetics", _T3_PROTOCOL, 71.1, 89.3),
    PaperFigure("Table 3", _T3, "flow", "imagenet+kinetics", _T3_PROTOCOL, 63.4, 84.9),
    PaperFigure("Table 3", _T3, "two-stream", "imagenet+kinetics", _T3_PROTOCOL, 74.2, 91.3),
    PaperFigure("Table 3", _T3, "rgb", "kinetics", _T3_PROTOCOL, 68.4, 88.0),
    PaperFigure("Table 3", _T3, "flow", "kinetics", _T3_PROTOCOL, 61.5, 83.4),
    PaperFigure("Table 3", _T3, "two-stream", "kinetics", _T3_PROTOCOL, 71.6, 90.0),
)

_SPLIT1 = "split 1 test"
_MEAN = "mean over splits 1-3"
TRANSFER: dict[tuple[str, str], tuple[PaperFigure, ...]] = {}
for _dataset, _name, _fixed, _full, _means in (
    ("ucf101", "UCF-101", (97.7, 97.4), (98.0, 97.6), ((95.6, 96.7, 98.0), (95.1, 96.5, 97.8))),
    ("hmdb51", "HMDB-51", (79.7, 78.6), (81.2, 81.3), ((74.8, 77.1, 80.7), (74.3, 77.3, 80.9))),
):
    for _mode, _pair in (("fixed", _fixed), ("full", _full)):
        TRANSFER[(_dataset, _mode)] = tuple(
            PaperFigure("Table 4", f"{_name} {_SPLIT1}", "two-stream", pre, f"{_mode} features" if _mode == "fixed"
                        else "full fine-tuning", value)
            for pre, value in zip(("imagenet+kinetics", "kinetics"), _pair)
        )
    TRANSFER[(_dataset, "full")] += tuple(
        PaperFigure("Table 5", f"{_name} {_MEAN}", stream, pre, "full fine-tuning", value)
        for pre, row in zip(("imagenet+kinetics", "kinetics"), _means)
        for stream, value in zip(("rgb", "flow", "two-stream"), row)
    )


def paper_stream(streams: tuple[str, ...] | list[str]) -> PaperStream:
    """``two-stream`` for RGB and flow together, else the one stream."""
    return "two-stream" if set(streams) == {"rgb", "flow"} else streams[0]  # type: ignore[return-value]


def checkpoint_pretraining(name_or_path: str | None) -> Pretraining | None:
    """``imagenet+kinetics`` for DeepMind's released ``*_imagenet`` checkpoints; None when unknown (a user file)."""
    if name_or_path and str(name_or_path).startswith("i3d_inception.deepmind_") and "imagenet" in str(name_or_path):
        return "imagenet+kinetics"
    return None


def kinetics_figures(stream: PaperStream, pretraining: Pretraining | None = None) -> list[PaperFigure]:
    """Table 3 rows for ``stream`` (both pretrainings when unknown), ImageNet-then-Kinetics first."""
    return [f for f in KINETICS if f.stream == stream and (pretraining is None or f.pretraining == pretraining)]


@dataclass(frozen=True)
class Comparison:
    """A paper figure and how closely a result matches what it measured."""

    figure: PaperFigure
    match: Literal["same protocol", "closest"]
    caveat: str

    def as_dict(self) -> dict:
        return {**self.figure.as_dict(), "match": self.match, "caveat": self.caveat}


def transfer_comparisons(
    dataset: str, *, mode: str, stream: PaperStream, splits: tuple[int, ...], pretraining: Pretraining | None
) -> list[Comparison]:
    """The Table 4 / Table 5 figures a transfer result sits beside, each with what differs."""
    out: list[Comparison] = []
    all_splits = tuple(sorted(splits)) == (1, 2, 3)
    for figure in TRANSFER.get((dataset, mode), ()):
        if pretraining is not None and figure.pretraining != pretraining:
            continue
        caveats = []
        if figure.stream != stream:
            continue
        if figure.table == "Table 4" and splits != (1,):
            caveats.append("the paper's figure is split 1 only")
        if figure.table == "Table 5" and not all_splits:
            caveats.append("the paper's figure is the mean over splits 1-3 (use --split all)")
        if pretraining is None:
            caveats.append("the pretraining of your checkpoint is unknown")
        match = "closest" if caveats else "same protocol"
        out.append(Comparison(figure, match, "; ".join(caveats) or "same stream, pretraining, mode and splits"))
    if not out:
        note = (f"the paper gives no {mode}-mode figure for the {stream} stream alone; "
                f"its {mode} figures are two-stream (Table 4) or, for fine-tuning, per stream (Table 5)")
        for figure in TRANSFER.get((dataset, mode), ()):
            if figure.stream == "two-stream" and (pretraining is None or figure.pretraining == pretraining):
                out.append(Comparison(figure, "closest", note))
    return out
