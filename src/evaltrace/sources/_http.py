"""The HTTP plumbing the backend clients share: auth, retries, errors without secrets.

* Credentials come from an argument or an environment variable and are held
  in a ``Secret``, whose ``repr``/``str`` never show the value. The value
  goes only into the request's header; every error message is scrubbed of it.
* A request that times out, cannot connect, or gets a 5xx or 429 answer is
  retried with exponential backoff (``RetryPolicy``; a ``Retry-After`` header
  is honoured up to the policy's cap), then fails with a ``BackendError``
  saying how many attempts were made and what the last one got.
* Other 4xx answers fail at once (401/403 name the credential's variable),
  except the statuses a caller declares to mean "nothing there" (Jaeger's
  404 for no traces), which come back as ``None``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._errors import BackendError, DecodeError
from evaltrace.sources._otlp_json import ErrorHandler, decode_json
from evaltrace.tracing._record import SpanRecord

__all__ = ["HttpBackend", "RetryPolicy", "Secret", "resolve_secret"]

logger = logging.getLogger("evaltrace.sources")

_EXCERPT = 300  # characters of an error body quoted in a BackendError


class Secret:
    """A credential whose ``repr`` and ``str`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigurationError("a credential must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """The credential itself (for the request header only)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_secret(value: str | Secret | None, env: str | None) -> Secret | None:
    """The credential given, else the one in ``$env`` (None if neither is set)."""
    if isinstance(value, Secret):
        return value
    if value:
        return Secret(value)
    found = os.environ.get(env) if env else None
    return Secret(found) if found else None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry timeouts, connection errors, 5xx and 429.

    ``attempts`` counts every request, the first included; the n-th retry
    waits ``backoff * 2**(n-1)`` seconds, at most ``max_backoff``.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_backoff < 0:
            raise ConfigurationError(f"invalid retry policy {self}")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        wait = self.backoff * 2.0 ** (retry - 1)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff)


def _retry_after(response: httpx.Response) -> float | None:
    value: str | None = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


@dataclasses.dataclass
class _Outcome:
    """What the last attempt got, for the error after the last retry."""

    reason: str
    status: int | None = None
    retry_after: float | None = None


class HttpBackend:
    """An async HTTP client for one backend, with auth, retries and clean errors.

    Args:
        base_url: the backend's root URL (user:password in it becomes Basic auth
            and is removed from the URL).
        backend: its name in errors and logs ("jaeger", "tempo", "phoenix").
        secret: the credential, or None.
        secret_env: the variable it may come from (named in 401/403 errors).
        header: where the credential goes: ``"authorization"`` sends
            ``Bearer <secret>`` (Basic with ``username``); any other name
            sends the bare secret in that header (an API key header).
        transport: an httpx transport (tests: ``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        backend: str,
        secret: Secret | None = None,
        secret_env: str | None = None,
        header: str = "authorization",
        username: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https"):
            raise ConfigurationError(f"{backend}: base URL must be http(s), got {base_url!r}")
        if url.username and secret is None:
            if not url.password:
                raise ConfigurationError(f"{backend}: a user in the URL needs a password")
            username, secret = url.username, Secret(url.password)
        self.base_url = str(url.copy_with(username=None, password=None)).rstrip("/")
        self.backend = backend
        self._secret = secret
        self._secret_env = secret_env
        self._retry = retry or RetryPolicy()
        headers = _auth_headers(secret, header, username)
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        auth = ", auth=***" if self._secret else ""
        return f"{type(self).__name__}({self.base_url!r}, backend={self.backend!r}{auth})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def scrub(self, text: str) -> str:
        """``text`` with the credential (if any) replaced by ``***``."""
        if self._secret is not None:
            text = text.replace(self._secret.reveal(), "***")
        return text

    def error(self, message: str, **kwargs: Any) -> BackendError:
        """A BackendError for this backend, scrubbed of the credential."""
        return BackendError(self.scrub(message), backend=self.backend, **kwargs)

    def spans_of(
        self, path: str, response: httpx.Response | None, on_error: ErrorHandler
    ) -> list[SpanRecord]:
        """The spans of an OTLP/JSON answer (none for None); bad spans go to ``on_error``.

        Raises:
            BackendError: the answer is not OTLP/JSON in a known envelope.
        """
        if response is None:
            return []
        try:
            return list(decode_json(response.content, on_error=on_error))
        except DecodeError as exc:
            raise self.error(f"GET {path}: unreadable answer: {exc}") from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        nothing_there: Collection[int] = (),
    ) -> httpx.Response | None:
        """The 2xx response, or None for a status in ``nothing_there``.

        Raises:
            BackendError: after the last retry, or at once for other 4xx.
        """
        outcome = _Outcome("no attempt")
        for attempt in range(1, self._retry.attempts + 1):
            if attempt > 1:
                delay = self._retry.delay(attempt - 1, outcome.retry_after)
                reason = self.scrub(outcome.reason)
                logger.info(
                    "%s %s %s: %s; retry %d in %.2fs",
                    *(self.backend, method, path, reason, attempt - 1, delay),
                )
                await asyncio.sleep(delay)
            result = await self._attempt(method, path, params, json, nothing_there, attempt)
            if not isinstance(result, _Outcome):
                return result.response
            outcome = result
        raise self.error(
            f"{method} {path} failed after {self._retry.attempts} attempt(s): {outcome.reason}",
            status_code=outcome.status,
            retryable=True,
            attempts=self._retry.attempts,
        )

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Any,
        json: Any,
        nothing_there: Collection[int],
        attempt: int,
    ) -> _Answer | _Outcome:
        try:
            response = await self._client.request(method, path, params=params, json=json)
        except httpx.TimeoutException as exc:
            return _Outcome(f"timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return _Outcome(f"connection failed ({type(exc).__name__}: {exc})")
        status = response.status_code
        if 200 <= status < 300:
            return _Answer(response)
        if status in nothing_there:
            return _Answer(None)
        reason = f"HTTP {status}: {_excerpt(response)}"
        if status >= 500 or status == 429:
            return _Outcome(reason, status, _retry_after(response))
        if status in (401, 403):
            where = f" (from ${self._secret_env})" if self._secret_env else ""
            hint = f"check the credential{where}" if self._secret else "no credential was sent"
            reason += f"; {hint}"
        raise self.error(f"{method} {path}: {reason}", status_code=status, attempts=attempt)


@dataclasses.dataclass
class _Answer:
    response: httpx.Response | None


def _auth_headers(secret: Secret | None, header: str, username: str | None) -> dict[str, str]:
    if secret is None:
        return {}
    if header.lower() != "authorization":
        return {header: secret.reveal()}
    if username is not None:
        basic = httpx.BasicAuth(username, secret.reveal())
        request = next(basic.auth_flow(httpx.Request("GET", "http://auth.invalid")))
        return {"Authorization": request.headers["Authorization"]}
    return {"Authorization": f"Bearer {secret.reveal()}"}


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = repr(response.content[:_EXCERPT])
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else f"{text[: _EXCERPT - 3]}..."
