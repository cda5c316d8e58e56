"""Store URLs: which store a URL names, ``EVALTRACE_STORE``, and redaction of credentials.

A store is named by ``sqlite:///relative/runs.db``, ``sqlite:////absolute/runs.db``
(SQLAlchemy's convention: three slashes, then the path), a plain file path, or
``postgresql://user:password@host:port/db`` (``postgres://`` too). Every message
that shows a URL shows ``redact_url(url)``: the password, and any ``password=``
parameter, replaced by ``***``.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evaltrace.history._errors import StoreURLError

__all__ = [
    "DEFAULT_STORE_PATH",
    "STORE_ENV",
    "StoreLocation",
    "parse_store_url",
    "redact_url",
    "scrub",
    "store_url",
]

#: The environment variable naming the store (a URL or path; ``off`` disables it).
STORE_ENV = "EVALTRACE_STORE"
#: Where the default store lives, relative to the working directory.
DEFAULT_STORE_PATH = Path(".evaltrace") / "runs.db"

_OFF = frozenset({"off", "none", "no", "false", "0"})
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
# A URL's "user:password@" inside a longer text (up to the token's last "@").
_EMBEDDED_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):\S*@")
_PASSWORD_PARAM = re.compile(r"(?i)(password\s*=\s*)('[^']*'|[^&\s;]*)")
_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
_REDACTED = "***"

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL: the backend, and its file (SQLite) or connection string."""

    backend: Backend
    redacted: str
    path: Path | None = None
    conninfo: str = field(default="", repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def redact_url(url: str) -> str:
    """``url`` with its password and any ``password=`` parameter replaced by ``***``.

    Works on text that does not parse as a URL too, erring towards hiding more.
    """
    text = _PASSWORD_PARAM.sub(lambda m: m.group(1) + _REDACTED, url)
    scheme = _SCHEME.match(text)
    if scheme is None:
        return text
    rest = text[scheme.end() :]
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return text
    user = userinfo.split(":", 1)[0]
    return f"{text[: scheme.end()]}{user}:{_REDACTED}@{host}"


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` on one line, with every secret (and any URL's password) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, _REDACTED)
    text = _EMBEDDED_USERINFO.sub(lambda m: f"{m['head']}:{_REDACTED}@", redact_url(text))
    return " ".join(text.split())


def store_url(explicit: str | None, *, default_enabled: bool) -> str | None:
    """The store to record runs in, or None when recording is off.

    ``explicit`` (an argument or CLI option) wins, then ``$EVALTRACE_STORE``,
    then, when ``default_enabled`` (the CLI), ``.evaltrace/runs.db`` under the
    working directory. ``off`` (or ``none``, ``false``, ``0``) in either place
    turns recording off.
    """
    for value in (explicit, os.environ.get(STORE_ENV)):
        if value is not None and value.strip():
            return None if value.strip().lower() in _OFF else value.strip()
    return str(Path.cwd() / DEFAULT_STORE_PATH) if default_enabled else None


def parse_store_url(url: str) -> StoreLocation:
    """Which store ``url`` names; raises ``StoreURLError`` (one line, redacted) if none."""
    redacted = redact_url(url)
    match = _SCHEME.match(url)
    if match is None:
        return _sqlite_location(url, redacted)
    scheme = match["scheme"].lower()
    if scheme == "sqlite":
        return _sqlite_location(_sqlite_path(url, redacted), redacted)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_location(url, redacted)
    raise StoreURLError(
        f"store URL {redacted}: unknown scheme {scheme!r} "
        "(use sqlite:///PATH, a file path, or postgresql://USER:PASSWORD@HOST:PORT/DB)"
    )


def _sqlite_path(url: str, redacted: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc:
        raise StoreURLError(
            f"store URL {redacted}: a sqlite URL names a file, not a host "
            "(sqlite:///relative/runs.db or sqlite:////absolute/runs.db)"
        )
    return urllib.parse.unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)


def _sqlite_location(path: str, redacted: str) -> StoreLocation:
    if not path.strip() or path.strip() == ":memory:":
        raise StoreURLError(f"store URL {redacted!r}: names no database file")
    return StoreLocation(backend="sqlite", redacted=redacted, path=Path(path).expanduser())


def _postgres_location(url: str, redacted: str) -> StoreLocation:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise StoreURLError(f"store URL {redacted}: cannot be parsed: {error}") from None
    secrets = _postgres_secrets(parts)
    return StoreLocation(backend="postgresql", redacted=redacted, conninfo=url, secrets=secrets)


def _postgres_secrets(parts: urllib.parse.SplitResult) -> tuple[str, ...]:
    found = [parts.password or ""]
    found += urllib.parse.parse_qs(parts.query).get("password", [])
    found += [urllib.parse.unquote(s) for s in found]
    return tuple(sorted({s for s in found if s}))
