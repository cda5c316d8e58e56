"""A run's scores as OpenTelemetry metrics: score trends beside the GenAI client metrics.

When a run ends, its metric summaries go out through the run's meter provider
(the one ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``
use) as four gauges, one point per run:

* ``evaltrace.evaluation.score.mean`` (unit ``1``): a metric's mean score;
* ``evaltrace.evaluation.score.pass_rate`` (unit ``1``): the share of its verdicts that passed;
* ``evaltrace.evaluation.cases`` (``{case}``): cases the run evaluated (cases x trials);
* ``evaltrace.evaluation.errors`` (``{case}``): those that failed (task, or a metric's score).

Points carry ``evaltrace.run.name`` and, for scores, ``gen_ai.evaluation.name``
(the metric). Never a run id or a case id: one series per run name and metric.
The semantic conventions define no evaluation metrics yet; these are
evaltrace's names until they do (docs/span-contract.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics._internal.instrument import Gauge

from evaltrace.results import MetricSummary
from evaltrace.tracing import _attributes as attr

__all__ = [
    "CASES_METRIC",
    "ERRORS_METRIC",
    "PASS_RATE_METRIC",
    "SCORE_MEAN_METRIC",
    "SCORE_METRICS",
    "record_run_scores",
]

SCORE_MEAN_METRIC: Final = "evaltrace.evaluation.score.mean"
PASS_RATE_METRIC: Final = "evaltrace.evaluation.score.pass_rate"
CASES_METRIC: Final = "evaltrace.evaluation.cases"
ERRORS_METRIC: Final = "evaltrace.evaluation.errors"
#: name -> (unit, the attributes of its points), for docs, dashboards and tests.
SCORE_METRICS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    SCORE_MEAN_METRIC: ("1", (attr.RUN_NAME, attr.EVALUATION_NAME)),
    PASS_RATE_METRIC: ("1", (attr.RUN_NAME, attr.EVALUATION_NAME)),
    CASES_METRIC: ("{case}", (attr.RUN_NAME,)),
    ERRORS_METRIC: ("{case}", (attr.RUN_NAME,)),
}
_SCOPE = "evaltrace"


@dataclass(frozen=True)
class _Gauges:
    mean: Gauge
    pass_rate: Gauge
    cases: Gauge
    errors: Gauge


# Instruments once per meter provider, however many runs use it.
_gauges: weakref.WeakKeyDictionary[metrics.MeterProvider, _Gauges] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def record_run_scores(
    meter_provider: metrics.MeterProvider,
    run_name: str,
    summaries: Mapping[str, MetricSummary],
    *,
    cases: int,
    errors: int,
) -> None:
    """Set the run's score gauges (a metric with no score or no verdict sets none)."""
    gauges = _gauges_of(meter_provider)
    run = {attr.RUN_NAME: run_name}
    for name, summary in sorted(summaries.items()):
        point = {**run, attr.EVALUATION_NAME: name}
        if summary.mean is not None:
            gauges.mean.set(summary.mean, point)
        if summary.pass_rate is not None:
            gauges.pass_rate.set(summary.pass_rate, point)
    gauges.cases.set(cases, run)
    gauges.errors.set(errors, run)


def _gauges_of(provider: metrics.MeterProvider) -> _Gauges:
    from evaltrace._version import __version__

    with _lock:
        found = _gauges.get(provider)
        if found is None:
            meter = provider.get_meter(_SCOPE, __version__)

            def gauge(name: str, description: str) -> Gauge:
                return meter.create_gauge(name, SCORE_METRICS[name][0], description)

            found = _Gauges(
                mean=gauge(SCORE_MEAN_METRIC, "Mean score of a metric over a run's cases (0..1)"),
                pass_rate=gauge(PASS_RATE_METRIC, "Share of a metric's verdicts that passed"),
                cases=gauge(CASES_METRIC, "Cases a run evaluated (cases x trials)"),
                errors=gauge(ERRORS_METRIC, "Cases of a run whose task or a metric failed"),
            )
            _gauges[provider] = found
        return found
