"""The corpus's identity: its fingerprint's digest and counts, so two reports can be compared at a glance.

The digest is ``kinetics audit --fingerprint``'s: a hash of the sorted (split, clip id, label) of
the clips the audit found usable. Equal digests mean the same clips with the same labels.
"""

from __future__ import annotations

from kinetics.corpus.audit_report import AuditReport
from kinetics.corpus.fingerprint import Fingerprint, fingerprint_of
from kinetics.report.html import Section, definition_list, table


def identity_section(audit: AuditReport | None) -> tuple[Section, Fingerprint | None]:
    section = Section("fingerprint", "Corpus fingerprint",
                      "The same digest and counts as kinetics audit --fingerprint: compare them between two reports "
                      "(or with a published fingerprint: kinetics audit --compare FILE) to see whether two corpora hold "
                      "the same usable clips.")
    if audit is None:
        section.note_missing("the fingerprint needs the audit (it was skipped or the corpus has no index)")
        return section, None
    fingerprint = fingerprint_of(audit)
    classes = "unknown (labels are not a dense known list)" if fingerprint.classes is None else f"{len(fingerprint.classes):,}"
    section.add(definition_list([("digest", fingerprint.digest), ("version", fingerprint.version or "mixed or unknown"),
                                 ("classes", classes), ("root", str(audit.root))]))
    rows = [(split, n) for split, n in fingerprint.counts.items()] + [("total", sum(fingerprint.counts.values()))]
    section.add(table(["split", "usable clips"], rows, table_id="fingerprint-counts"))
    if not fingerprint.counts:
        section.note_missing("no usable clip: the fingerprint is of an empty corpus")
    return section, fingerprint
