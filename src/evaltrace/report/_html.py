"""One self-contained, offline HTML file for an ``EvaluationResult``.

The page is ``template.html`` with ``report.css`` and ``report.js`` inlined and
the result embedded as a JSON data block. Its Content-Security-Policy allows
nothing but that one script and that one stylesheet (by their sha256 hashes)
and ``data:`` images: no request can leave the page, and markup smuggled into
a prompt could not run even if it escaped the data block (it cannot: ``<``,
``>`` and ``&`` are written as JSON escapes there, e.g. ``\\u003c``, and the
script renders every value as text).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from evaltrace._version import __version__
from evaltrace.records import write_text_atomically
from evaltrace.report._payload import build_payload, finite, safe_trace_url
from evaltrace.results import EvaluationResult

__all__ = ["DATA_ELEMENT_ID", "content_security_policy", "render_html_report", "write_html_report"]

#: The ``id`` of the ``<script type="application/json">`` element holding the result.
DATA_ELEMENT_ID = "evaltrace-data"

# Characters that could end the data block or start markup, and the two line
# separators older JavaScript parsers reject, as JSON escapes.
_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def render_html_report(result: EvaluationResult) -> str:
    """The report of ``result`` as one HTML document that needs no network."""
    script, style = _asset("report.js"), _asset("report.css")
    return _template().substitute(
        csp=html.escape(content_security_policy(script, style)),
        title=html.escape(f"{result.name} · evaltrace report"),
        name=html.escape(result.name),
        run_meta=_run_meta(result),
        trace_link=_trace_link(result),
        style=style,
        data_id=DATA_ELEMENT_ID,
        data=embed_json(build_payload(result)),
        script=script,
        version=html.escape(__version__),
    )


def write_html_report(result: EvaluationResult, path: str | Path) -> Path:
    """Write the report of ``result`` to ``path`` (atomically) and return the path."""
    target = Path(path)
    write_text_atomically(target, render_html_report(result))
    return target


def content_security_policy(script: str, style: str) -> str:
    """A policy that allows exactly this inline script and stylesheet, and ``data:`` images."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(script)}'",
            f"style-src '{_sha256(style)}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (no ``<``, ``>``, ``&``).

    NaN and infinities (which JSON lacks) become null; the data is walked for
    them only when a first serialisation finds one.
    """
    try:
        text = _dumps(data)
    except ValueError:
        text = _dumps(finite(data))
    for character, escape in _JSON_ESCAPES:  # str.replace: ~50x faster than str.translate
        text = text.replace(character, escape)
    return text


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _run_meta(result: EvaluationResult) -> str:
    status = "complete" if result.complete else "incomplete"
    parts = [
        f"run {result.run_id}",
        f"started {result.started_at:%Y-%m-%d %H:%M:%S} UTC",
        f"{len(result.cases)} cases",
        status,
    ]
    return html.escape(" · ".join(parts))


def _trace_link(result: EvaluationResult) -> str:
    """A link to the run's trace when a trace URL is configured, else the trace id."""
    trace_id = html.escape(result.trace_id)
    url = safe_trace_url(result.trace_url)
    if url is None:
        return f'<p class="trace">trace <code>{trace_id}</code></p>'
    return (
        f'<p class="trace"><a class="trace-link" href="{html.escape(url)}" target="_blank" '
        f'rel="noopener noreferrer">Open trace <code>{trace_id}</code></a></p>'
    )


@cache
def _asset(name: str) -> str:
    text = files("evaltrace.report").joinpath(name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name} must not contain a closing script or style tag")
    return text


@cache
def _template() -> Template:
    return Template(files("evaltrace.report").joinpath("template.html").read_text("utf-8"))
