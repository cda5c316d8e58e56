"""Self-contained, offline HTML reports: of an ``EvaluationResult``, and of a ``Comparison``."""

from evaltrace.report._compare_html import render_comparison_report, write_comparison_report
from evaltrace.report._html import render_html_report, write_html_report

__all__ = [
    "render_comparison_report",
    "render_html_report",
    "write_comparison_report",
    "write_html_report",
]
