"""The bundled offline demo: 30 short questions with expected answers."""

from evaltrace.demo._cases import DEMO_DATASET, DEMO_TASK_MODEL, demo_cases

__all__ = ["DEMO_DATASET", "DEMO_TASK_MODEL", "demo_cases"]
