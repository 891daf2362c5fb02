"""One self-contained HTML report of a corpus and its results (plots embedded). See docs/report.md."""

from kinetics import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "build_report": "kinetics.report.build",
    "write_report": "kinetics.report.build",
    "ReportOptions": "kinetics.report.build",
    "ReportSummary": "kinetics.report.build",
})
