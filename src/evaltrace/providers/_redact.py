"""Keep secrets out of error messages that end up in spans and results."""

from __future__ import annotations

import re

__all__ = ["redact"]

# API-key shapes of the providers we support, masked or not.
_KEY_PATTERN = re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_*\-]{6,})")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/]+=*")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every given secret, any API-key-shaped token and bearer tokens masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    text = _KEY_PATTERN.sub("[REDACTED]", text)
    return _BEARER.sub(r"\1[REDACTED]", text)
