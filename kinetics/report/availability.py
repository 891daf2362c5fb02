"""Availability: per split and per class, with missing, failed and broken clips by reason.

The split table holds both views of the same corpus: the index's (``kinetics status``: what the
downloads recorded) and the audit's (``kinetics audit``: what is really usable on disk, broken
files counted apart). The class chart shows every class sorted by availability; the worst are
named in a table with their main reasons.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from kinetics.corpus.audit_report import AuditReport
from kinetics.corpus.status import CorpusStatus
from kinetics.report.html import Section, paragraph, percent, table
from kinetics.report.plots import STATE_COLOURS, figure_uri, new_figure, stacked_bars

WORST_CLASSES = 25
STATES = ("ok", "broken", "missing", "failed", "pending")


def availability_section(status: CorpusStatus | None, audit: AuditReport | None, *, worst: int = WORST_CLASSES) -> Section:
    section = Section("availability", "Availability per split and class",
                      "Targets are the clips the corpus was asked for; ok (index) is what downloads recorded "
                      "(kinetics status), ok (files) what the audit found usable on disk (kinetics audit). "
                      "Availability = ok (files) / targets.")
    if status is None or not status.splits:
        section.note_missing("no clips: the corpus index records no target and no attempt yet (run kinetics download)")
        return section
    section.add(_split_table(status, audit))
    by_split = {s.split: s for s in audit.splits} if audit else {}
    for s in status.splits:
        usable = by_split[s.split].ok if s.split in by_split else s.ok
        if s.targets and not usable:
            section.note_missing(f"split {s.split} has no usable clip: {s.targets:,} targets, {sum(s.missing.values()):,} missing, "
                                 f"{sum(s.failed.values()):,} failed, {s.pending:,} pending, {s.ok:,} ok in the index")
    _split_chart(section, status, audit)
    _reasons(section, status, audit)
    if audit is None:
        section.note_missing("per-class availability needs the audit (it was skipped)")
        return section
    _classes(section, audit, worst)
    return section


def _split_table(status: CorpusStatus, audit: AuditReport | None) -> str:
    by_split = {s.split: s for s in audit.splits} if audit else {}
    rows = []
    for s in (*status.splits, status.total):
        a = by_split.get(s.split)
        if s is status.total and audit:
            ok_files, broken = audit.ok, sum(sum(x.broken.values()) for x in audit.splits)
            share = audit.availability
        else:
            ok_files = a.ok if a else None
            broken = sum(a.broken.values()) if a else None
            share = a.availability if a else None
        rows.append([s.split, s.targets, s.ok, sum(s.missing.values()), sum(s.failed.values()), s.pending,
                     percent(s.availability), ok_files, broken, percent(share)])
    headers = ["split", "targets", "ok (index)", "missing", "failed", "pending", "available (index)", "ok (files)",
               "broken files", "available (files)"]
    return table(headers, rows, caption="Clips per split", table_id="splits")


def _split_chart(section: Section, status: CorpusStatus, audit: AuditReport | None) -> None:
    names = [s.split for s in status.splits]
    by_split = {s.split: s for s in audit.splits} if audit else {}
    series: dict[str, list[int]] = {state: [] for state in STATES}
    for s in status.splits:
        a = by_split.get(s.split)
        broken = sum(a.broken.values()) if a else 0
        series["ok"].append(a.ok if a else s.ok)
        series["broken"].append(broken)
        series["missing"].append(sum(s.missing.values()))
        series["failed"].append(sum(s.failed.values()))
        series["pending"].append(s.pending)
    figure = new_figure(9, 0.5 + 0.45 * len(names))
    axes = figure.add_subplot()
    stacked_bars(axes, names, {k: np.asarray(v) for k, v in series.items()}, horizontal=True)
    axes.set_xlabel("clips")
    section.figure(figure_uri(figure), "Clips per split by state (ok counts files the audit found usable)")


def _reasons(section: Section, status: CorpusStatus, audit: AuditReport | None) -> None:
    items = [(f"missing: {r}", n, "missing") for r, n in status.total.missing.items()]
    items += [(f"failed: {r}", n, "failed") for r, n in status.total.failed.items()]
    if audit:
        broken: Counter = Counter()
        for s in audit.splits:
            broken.update(s.broken)
        items += [(f"broken: {r}", n, "broken") for r, n in broken.items()]
    if not items:
        section.add(paragraph("No clip is missing, failed or broken."))
        return
    items.sort(key=lambda item: -item[1])
    figure = new_figure(9, 0.6 + 0.3 * len(items))
    axes = figure.add_subplot()
    positions = np.arange(len(items))
    axes.barh(positions, [n for _, n, _ in items], color=[STATE_COLOURS[k] for _, _, k in items])
    axes.set_yticks(positions, [name for name, _, _ in items], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("clips")
    for y, (_, n, _) in enumerate(items):
        axes.annotate(f"{n:,}", (n, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    section.figure(figure_uri(figure), "Why clips are not usable: missing (gone for everyone), failed (may come back: "
                   "kinetics download --retry-failed), broken (ok in the index, bad on disk: kinetics audit --fix)")
    section.add(_reason_table(status, audit))


def _reason_table(status: CorpusStatus, audit: AuditReport | None) -> str:
    """Clips per reason and split: the numbers of status --json (missing, failed) and audit --json (broken)."""
    splits = [s.split for s in status.splits]
    cells: dict[str, dict[str, int]] = {}
    for s in status.splits:
        for word, counts in (("missing", s.missing), ("failed", s.failed)):
            for reason, n in counts.items():
                cells.setdefault(f"{word}: {reason}", {})[s.split] = n
    for a in audit.splits if audit else ():
        for problem, n in a.broken.items():
            cells.setdefault(f"broken: {problem}", {})[a.split] = n
    rows = sorted(((name, *(by.get(split, 0) for split in splits), sum(by.values())) for name, by in cells.items()),
                  key=lambda row: (-row[-1], row[0]))
    return table(["state: reason", *splits, "total"], rows, table_id="reasons")


def _classes(section: Section, audit: AuditReport, worst: int) -> None:
    classes = list(audit.classes)  # worst availability first
    if not classes:
        section.note_missing("no class labels among the targets (unlabelled splits only): no per-class view")
        return
    counts = {state: np.array([getattr(c, state) for c in classes], dtype=float) for state in STATES}
    totals = np.maximum(np.array([c.targets for c in classes], dtype=float), 1)
    figure = new_figure(11, 3.6)
    axes = figure.add_subplot()
    bottom = np.zeros(len(classes))
    ranks = np.arange(len(classes))
    for state in STATES:
        share = counts[state] / totals
        if share.any():
            axes.bar(ranks, share, 1.0, bottom=bottom, color=STATE_COLOURS[state], label=state, linewidth=0)
            bottom += share
    axes.set_xlim(-0.5, len(classes) - 0.5)
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"{len(classes)} classes, sorted by availability (worst on the left)")
    axes.set_ylabel("share of the class's targets")
    axes.legend(fontsize=8, frameon=False, ncols=5, loc="lower right")
    section.figure(figure_uri(figure), f"Availability of every class ({len(classes)}), sorted; the worst are named below")
    reasons = _class_reasons(audit)
    rows = [(c.label, c.targets, c.ok, c.missing, c.failed, c.pending, c.broken, percent(c.availability),
             reasons.get(c.label, "")) for c in classes[:worst]]
    section.add(table(["class", "targets", "ok (files)", "missing", "failed", "pending", "broken", "available", "main reasons"],
                      rows, caption=f"The {min(worst, len(classes))} least available classes of {len(classes)}",
                      table_id="worst-classes"))


def _class_reasons(audit: AuditReport) -> dict[str, str]:
    """label -> its three most common reasons ("unavailable 12, private 3, ...")."""
    per_class: dict[str, Counter] = {}
    for issue in audit.issues:
        if issue.label is not None:
            key = issue.status if issue.reason == issue.status else f"{issue.status}: {issue.reason}"
            per_class.setdefault(issue.label, Counter())[key] += 1
    return {label: ", ".join(f"{r} {n:,}" for r, n in counter.most_common(3)) for label, counter in per_class.items()}
