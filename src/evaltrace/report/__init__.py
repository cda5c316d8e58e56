"""A self-contained, offline HTML report of an ``EvaluationResult``."""

from evaltrace.report._html import render_html_report, write_html_report

__all__ = ["render_html_report", "write_html_report"]
