"""Every span attribute name evaltrace reads or writes, in one place.

GenAI names come from ``opentelemetry.semconv``; anything semconv does not cover
is prefixed ``evaltrace.``. Other modules import names from here and never type
attribute strings themselves.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import server_attributes as _server

__all__ = [
    "AGENT_NAME",
    "CASE_ID",
    "CASE_INDEX",
    "CONVERSATION_ID",
    "DATASET_SIZE",
    "ERROR_TYPE",
    "EVALUATION_EVENT",
    "EVALUATION_EXPLANATION",
    "EVALUATION_NAME",
    "EVALUATION_SCORE_LABEL",
    "EVALUATION_SCORE_VALUE",
    "INFERENCE_OPERATIONS",
    "INPUT_MESSAGES",
    "LEGACY_REQUEST_TYPE",
    "METRIC_NAME",
    "OI_AGENT_NAME",
    "OI_INPUT_MIME_TYPE",
    "OI_INPUT_VALUE",
    "OI_OUTPUT_VALUE",
    "OI_SPAN_KIND",
    "OI_TOOL_NAME",
    "OI_TOOL_PARAMETERS",
    "OPERATION_NAME",
    "OUTPUT_MESSAGES",
    "OUTPUT_TYPE",
    "PROVIDER_NAME",
    "PURPOSE",
    "REQUEST_CHOICE_COUNT",
    "REQUEST_FREQUENCY_PENALTY",
    "REQUEST_MAX_TOKENS",
    "REQUEST_MODEL",
    "REQUEST_PRESENCE_PENALTY",
    "REQUEST_SEED",
    "REQUEST_STOP_SEQUENCES",
    "REQUEST_TEMPERATURE",
    "REQUEST_TOP_K",
    "REQUEST_TOP_P",
    "RESPONSE_FINISH_REASONS",
    "RESPONSE_ID",
    "RESPONSE_MODEL",
    "RUN_ID",
    "RUN_NAME",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "SYSTEM",
    "SYSTEM_INSTRUCTIONS",
    "TOKEN_TYPE",
    "TOOL_CALL_ARGUMENTS",
    "TOOL_CALL_ID",
    "TOOL_CALL_RESULT",
    "TOOL_DEFINITIONS",
    "TOOL_NAME",
    "TRACELOOP_ENTITY_INPUT",
    "TRACELOOP_ENTITY_NAME",
    "TRACELOOP_ENTITY_OUTPUT",
    "TRACELOOP_SPAN_KIND",
    "TRIAL",
    "USAGE_CACHE_READ_INPUT_TOKENS",
    "USAGE_INPUT_TOKENS",
    "USAGE_OUTPUT_TOKENS",
    "USAGE_REASONING_OUTPUT_TOKENS",
    "ATTEMPT",
    "EVALUATED_SPAN_ID",
    "EVALUATION_KEY",
    "SERVICE_NAME",
]

# GenAI semantic conventions.
OPERATION_NAME: Final = _gen_ai.GEN_AI_OPERATION_NAME
PROVIDER_NAME: Final = _gen_ai.GEN_AI_PROVIDER_NAME
SYSTEM: Final = _gen_ai.GEN_AI_SYSTEM  # the pre-1.37 name of gen_ai.provider.name
REQUEST_MODEL: Final = _gen_ai.GEN_AI_REQUEST_MODEL
REQUEST_MAX_TOKENS: Final = _gen_ai.GEN_AI_REQUEST_MAX_TOKENS
REQUEST_TEMPERATURE: Final = _gen_ai.GEN_AI_REQUEST_TEMPERATURE
REQUEST_TOP_P: Final = _gen_ai.GEN_AI_REQUEST_TOP_P
REQUEST_TOP_K: Final = _gen_ai.GEN_AI_REQUEST_TOP_K
REQUEST_FREQUENCY_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY
REQUEST_PRESENCE_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY
REQUEST_CHOICE_COUNT: Final = _gen_ai.GEN_AI_REQUEST_CHOICE_COUNT
REQUEST_SEED: Final = _gen_ai.GEN_AI_REQUEST_SEED
REQUEST_STOP_SEQUENCES: Final = _gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES
OUTPUT_TYPE: Final = _gen_ai.GEN_AI_OUTPUT_TYPE
CONVERSATION_ID: Final = _gen_ai.GEN_AI_CONVERSATION_ID
RESPONSE_MODEL: Final = _gen_ai.GEN_AI_RESPONSE_MODEL
RESPONSE_ID: Final = _gen_ai.GEN_AI_RESPONSE_ID
RESPONSE_FINISH_REASONS: Final = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
USAGE_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
USAGE_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
USAGE_CACHE_READ_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
USAGE_REASONING_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
TOKEN_TYPE: Final = _gen_ai.GEN_AI_TOKEN_TYPE
INPUT_MESSAGES: Final = _gen_ai.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES: Final = _gen_ai.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS: Final = _gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS
TOOL_DEFINITIONS: Final = _gen_ai.GEN_AI_TOOL_DEFINITIONS
EVALUATION_NAME: Final = _gen_ai.GEN_AI_EVALUATION_NAME
EVALUATION_SCORE_VALUE: Final = _gen_ai.GEN_AI_EVALUATION_SCORE_VALUE
EVALUATION_SCORE_LABEL: Final = _gen_ai.GEN_AI_EVALUATION_SCORE_LABEL
EVALUATION_EXPLANATION: Final = _gen_ai.GEN_AI_EVALUATION_EXPLANATION
EVALUATION_EVENT: Final = "gen_ai.evaluation.result"
SERVER_ADDRESS: Final = _server.SERVER_ADDRESS
SERVER_PORT: Final = _server.SERVER_PORT
ERROR_TYPE: Final = _error.ERROR_TYPE
# Agents and tools (GenAI semantic conventions).
AGENT_NAME: Final = _gen_ai.GEN_AI_AGENT_NAME
TOOL_NAME: Final = _gen_ai.GEN_AI_TOOL_NAME
TOOL_CALL_ID: Final = _gen_ai.GEN_AI_TOOL_CALL_ID
TOOL_CALL_ARGUMENTS: Final = _gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_CALL_RESULT: Final = _gen_ai.GEN_AI_TOOL_CALL_RESULT
#: The operation of an older GenAI span (OpenLLMetry): ``chat``, ``completion``, ``embedding``.
LEGACY_REQUEST_TYPE: Final = "llm.request.type"

# OpenInference (Arize Phoenix's instrumentations): not semconv, read only.
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_INPUT_VALUE: Final = "input.value"
OI_INPUT_MIME_TYPE: Final = "input.mime_type"
OI_OUTPUT_VALUE: Final = "output.value"
OI_TOOL_NAME: Final = "tool.name"
OI_TOOL_PARAMETERS: Final = "tool.parameters"
OI_AGENT_NAME: Final = "agent.name"

# OpenLLMetry (Traceloop) spellings besides gen_ai.*: read only.
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME: Final = "traceloop.entity.name"
TRACELOOP_ENTITY_INPUT: Final = "traceloop.entity.input"
TRACELOOP_ENTITY_OUTPUT: Final = "traceloop.entity.output"

#: Operations that are one model call (an interaction), as opposed to agent,
#: workflow or tool spans that merely contain calls.
INFERENCE_OPERATIONS: Final = frozenset(
    {
        _gen_ai.GenAiOperationNameValues.CHAT.value,
        _gen_ai.GenAiOperationNameValues.TEXT_COMPLETION.value,
        _gen_ai.GenAiOperationNameValues.GENERATE_CONTENT.value,
        _gen_ai.GenAiOperationNameValues.EMBEDDINGS.value,
    }
)

# evaltrace's own attributes.
PURPOSE: Final = "evaltrace.purpose"
RUN_ID: Final = "evaltrace.run.id"
RUN_NAME: Final = "evaltrace.run.name"
DATASET_SIZE: Final = "evaltrace.dataset.size"
CASE_ID: Final = "evaltrace.case.id"
CASE_INDEX: Final = "evaltrace.case.index"
TRIAL: Final = "evaltrace.case.trial"
METRIC_NAME: Final = "evaltrace.metric.name"
ATTEMPT: Final = "evaltrace.attempt"
#: On a write-back span: the recorded span a score is about (16 hex digits).
EVALUATED_SPAN_ID: Final = "evaltrace.evaluated.span_id"
#: On a write-back span: ``<span id>:<metric>``, the idempotency key of the score.
EVALUATION_KEY: Final = "evaltrace.evaluation.key"
SERVICE_NAME: Final = "service.name"
