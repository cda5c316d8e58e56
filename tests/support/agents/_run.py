"""What one agent run really did: the ground truth its spans are checked against."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support.agents._scenario import ToolInvocation

__all__ = ["AgentRun"]


@dataclasses.dataclass(frozen=True, slots=True)
class AgentRun:
    """One run of an agent.

    Attributes:
        framework: ``langgraph``, ``openai-agents`` or ``plain``.
        instrumentation: which GenAI instrumentation traced it (``plain``: by hand).
        answer: the agent's final answer.
        tool_invocations: the tools that really ran, in order, as the tools recorded them.
        model_inputs: the messages of each model request (OpenAI chat format), in order,
            as the model received them.
    """

    framework: str
    instrumentation: str
    answer: str
    tool_invocations: tuple[ToolInvocation, ...]
    model_inputs: tuple[tuple[dict[str, Any], ...], ...]

    @property
    def model_requests(self) -> int:
        """How many requests the model received."""
        return len(self.model_inputs)
