"""Reading a score out of a judge's reply, tolerantly."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from evaltrace.exceptions import JudgeReplyError

__all__ = ["JUDGE_SCHEMA", "JudgeVerdict", "parse_verdict"]

#: The structured-output schema judges are asked to follow.
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "explanation": {"type": "string"},
    },
    "required": ["score", "explanation"],
}

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_SCORE_TEXT = re.compile(
    r"(?i)\b(?:score|rating)\b[\"']?\s*[:=]\s*[\"']?(-?\d+(?:\.\d+)?)\s*(%|/\s*(?:10|100|5)\b)?"
)
_SCORE_KEYS = ("score", "rating", "value", "similarity")
_EXPLANATION_KEYS = ("explanation", "reason", "reasoning", "rationale")


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """A judge's score in 0..1 and its explanation."""

    score: float
    explanation: str


def parse_verdict(reply: str) -> JudgeVerdict:
    """Find the score in a reply: JSON (bare, fenced or embedded), else ``score: x`` text.

    Scores on 0-5, 0-10 or 0-100 scales written as such (``4/5``, ``7/10``,
    ``80%``) are rescaled to 0..1. Raises ``JudgeReplyError`` with the raw reply
    when no score in range can be found.
    """
    for candidate in _json_candidates(reply):
        verdict = _from_object(candidate)
        if verdict is not None:
            return verdict
    match = _SCORE_TEXT.search(reply)
    if match:
        value = _rescale(float(match.group(1)), (match.group(2) or "").replace(" ", ""))
        if value is not None:
            return JudgeVerdict(value, _explanation_text(reply))
    raise JudgeReplyError("the judge's reply holds no score between 0 and 1", reply)


def _json_candidates(reply: str) -> list[Any]:
    texts = [reply.strip(), *(m.strip() for m in _FENCE.findall(reply))]
    start, end = reply.find("{"), reply.rfind("}")
    if 0 <= start < end:
        texts.append(reply[start : end + 1])
    found = []
    for text in texts:
        try:
            found.append(json.loads(text))
        except ValueError:
            continue
    return found


def _from_object(value: Any) -> JudgeVerdict | None:
    if not isinstance(value, dict):
        return None
    raw = next((value[k] for k in _SCORE_KEYS if k in value), None)
    try:
        score = _rescale(float(raw), "") if raw is not None and not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        return None
    if score is None:
        return None
    explanation = next((str(value[k]) for k in _EXPLANATION_KEYS if k in value), "")
    return JudgeVerdict(score, explanation)


def _rescale(value: float, scale: str) -> float | None:
    divisor = {"%": 100.0, "/100": 100.0, "/10": 10.0, "/5": 5.0}.get(scale, 1.0)
    scaled = value / divisor
    return scaled if 0.0 <= scaled <= 1.0 else None


def _explanation_text(reply: str) -> str:
    return reply.strip()[:2000]
