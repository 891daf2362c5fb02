"""``build_report(root, out)``: one self-contained HTML page of a corpus, and optionally its results.

The corpus numbers come from the same functions as ``kinetics status`` and ``kinetics audit``
(``corpus_status`` and a shallow ``audit``: every ok file stat'ed, none decoded), so the page and
their ``--json`` agree. Each section aggregates (histograms, counts, a few sampled clips), so the
page is a few hundred KB to a few MB whatever the corpus size. Missing input never stops the
build: each section says what it could not show, and ``ReportSummary.missing`` lists it all.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kinetics.corpus.audit import AuditOptions
from kinetics.corpus.audit import audit as run_audit
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.status import corpus_status
from kinetics.errors import KineticsError
from kinetics.files import atomic_output
from kinetics.report.availability import availability_section
from kinetics.report.html import Section, page
from kinetics.report.identity import identity_section
from kinetics.report.results import results_section
from kinetics.report.runs import runs_section
from kinetics.report.stored import stored_section
from kinetics.report.strips import strips_section
from kinetics.report.timeline import timeline_section


@dataclass(frozen=True)
class ReportOptions:
    """What goes into the report; each field is a ``kinetics report`` flag."""

    root: Path
    out: Path
    predictions: Path | None = None  # kinetics evaluate --predictions FILE
    run: Path | None = None  # a kinetics train / transfer --out directory
    audit: bool = True  # stat every ok file (the audit's view, broken files, the fingerprint)
    strip_classes: int = 4  # classes with a frame strip
    strip_fields: int = 6  # frames (and flow fields) per strip
    seed: int = 0  # which classes and clips the strips sample

    def __post_init__(self) -> None:
        for name in ("root", "out", "predictions", "run"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser())
        if self.out.suffix.lower() not in (".html", ".htm"):
            raise KineticsError(f"the report is HTML: --out must end in .html, got {self.out}")
        if self.strip_classes < 0 or self.strip_fields < 1:
            raise KineticsError(f"strip_classes must be >= 0 and strip_fields >= 1, got {self.strip_classes}, {self.strip_fields}")


@dataclass(frozen=True)
class ReportSummary:
    out: Path
    bytes: int
    seconds: float
    sections: tuple[str, ...]
    images: int
    missing: tuple[str, ...]  # what the report could not show, and why
    digest: str | None = None  # the corpus fingerprint's
    counts: dict[str, int] = field(default_factory=dict)  # usable clips per split (the fingerprint's)

    def as_dict(self) -> dict:
        return {"out": str(self.out), "bytes": self.bytes, "seconds": round(self.seconds, 3), "sections": list(self.sections),
                "images": self.images, "missing": list(self.missing), "digest": self.digest, "counts": self.counts}

    def format(self) -> str:
        lines = [f"report: {self.out} ({self.bytes / 1e6:.2f} MB, {self.images} figures, {self.seconds:.1f} s)"]
        lines += [f"  not shown: {line}" for line in self.missing]
        return "\n".join(lines)


def build_report(root: str | os.PathLike, out: str | os.PathLike, *, predictions: str | os.PathLike | None = None,
                 run: str | os.PathLike | None = None, **options) -> ReportSummary:
    """Write the report of corpus ``root`` to ``out`` (.html); see ReportOptions for ``options``."""
    return write_report(ReportOptions(root=root, out=out, predictions=predictions, run=run, **options))


def write_report(options: ReportOptions) -> ReportSummary:
    started = time.perf_counter()
    root = options.root
    index = CorpusIndex(root)
    notes: list[str] = []
    status = report = None
    if not index.exists():
        notes.append(f"no corpus index under {index.root} (expected {index.layout.index_dir}): no corpus sections")
        index = None
    else:
        status = corpus_status(root)
        if options.audit:
            report = run_audit(AuditOptions(root=root, show_progress=False))
        else:
            notes.append("the audit was skipped (--no-audit): files were not checked; no broken counts, classes or fingerprint")
    sections: list[Section] = [availability_section(status, report), timeline_section(index), stored_section(index)]
    if options.strip_classes:
        ok_clips = report.ok_clips if report is not None else _index_ok_clips(index)
        sections.append(strips_section(index.root if index else root, index, ok_clips, classes=options.strip_classes,
                                       fields=options.strip_fields, seed=options.seed))
    identity, fingerprint = identity_section(report)
    sections.append(identity)
    sections += [s for s in (results_section(options.predictions), runs_section(options.run)) if s is not None]
    missing = notes + [f"{s.title}: {text}" for s in sections for text in s.missing]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html = page(f"Kinetics corpus report: {Path(root).name}", f"{Path(root).expanduser().absolute()} \u00b7 built {stamp}",
                sections, summary=missing, footer="kinetics report: every figure is computed from the corpus index, its "
                "files and the given predictions and run; the page is self-contained (no network).")
    data = html.encode("utf-8")
    try:
        with atomic_output(options.out) as temp:
            temp.write_bytes(data)
    except OSError as err:
        raise KineticsError(f"cannot write the report to {options.out}: {err.strerror or err}") from err
    return ReportSummary(
        out=options.out, bytes=len(data), seconds=time.perf_counter() - started, sections=tuple(s.anchor for s in sections),
        images=sum(s.images for s in sections), missing=tuple(missing),
        digest=fingerprint.digest if fingerprint else None, counts=fingerprint.counts if fingerprint else {},
    )


def _index_ok_clips(index: CorpusIndex | None):
    if index is None:
        return None
    import pyarrow.compute as pc

    state = index.clip_state(columns=["clip_id", "label", "split", "status"])
    return state.filter(pc.fill_null(pc.equal(state.column("status"), "ok"), False))
