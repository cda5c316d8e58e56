"""The message-content capture mode, from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.

Values as ``opentelemetry-util-genai`` defines them (``NO_CONTENT``,
``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``), plus the legacy booleans
older instrumentations read: ``true`` captures content on the span, ``false``
captures none. Unset or unknown means no content in telemetry.
"""

from __future__ import annotations

import logging
import os

from opentelemetry.util.genai.environment_variables import (
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT as CAPTURE_CONTENT_ENV,
)
from opentelemetry.util.genai.types import ContentCapturingMode

__all__ = ["CAPTURE_CONTENT_ENV", "ContentCapturingMode", "content_mode"]

_log = logging.getLogger(__name__)
_LEGACY = {"true": ContentCapturingMode.SPAN_ONLY, "false": ContentCapturingMode.NO_CONTENT}


def content_mode() -> ContentCapturingMode:
    """The capture mode the environment asks for (NO_CONTENT when unset or unknown)."""
    raw = os.environ.get(CAPTURE_CONTENT_ENV, "").strip()
    if not raw:
        return ContentCapturingMode.NO_CONTENT
    if raw.lower() in _LEGACY:
        return _LEGACY[raw.lower()]
    try:
        return ContentCapturingMode[raw.upper()]
    except KeyError:
        _log.warning("%s=%r is not a capture mode; capturing no content", CAPTURE_CONTENT_ENV, raw)
        return ContentCapturingMode.NO_CONTENT
