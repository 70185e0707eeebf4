"""The request transformer's rules, as pure functions over one attempt's request.

Each function takes the request (LiteLLM's kwargs for one deployment attempt) and the chosen
deployment's profile, and returns a new mapping plus a list of human-readable changes. Nothing
is mutated: LiteLLM reuses the original request for retries and fallbacks, and each deployment
gets its own rules applied afresh.

Anthropic-shaped requests (`/v1/messages`, call type `anthropic_messages`):
- `max_tokens` is clamped to the deployment's `max_output_tokens`; a thinking budget is kept
  below it, and thinking is turned off when no valid budget (>= 1024) remains.
- For targets that do not speak Anthropic: `thinking` (and `output_config.effort`) becomes
  `reasoning_effort` when the deployment declares `supports_reasoning`, otherwise it is dropped,
  which also keeps LiteLLM from bridging an `openai/` deployment to the Responses API;
  thinking blocks in earlier assistant turns are dropped unless `reasoning_input: keep`.
OpenAI-shaped requests (`/v1/chat/completions`, and `/v1/messages` after LiteLLM translated it):
- `max_tokens` / `max_completion_tokens` clamped; `reasoning_effort` dropped for deployments
  without reasoning support; `reasoning_content`, `thinking_blocks` and reasoning parts removed
  from input messages unless `reasoning_input: keep`; tool schemas cleaned per `tool_schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm_plugins.core.deployment import DeploymentProfile
from litellm_plugins.core.reasoning import (
    drop_reasoning_from_openai_messages,
    is_thinking_block,
    message_is_assistant,
)
from litellm_plugins.core.thinking_off import turn_thinking_off, without_effort
from litellm_plugins.transformer.tool_schema import clean_schema

MIN_THINKING_BUDGET: Final = 1024
EFFORTS: Final = ("low", "medium", "high")

Changes = list[str]


def thinking_to_effort(thinking: Any, output_config: Any) -> str | None:
    """The `reasoning_effort` an Anthropic `thinking` setting asks for, or None for no reasoning."""
    if not isinstance(thinking, Mapping):
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            return "medium"
        if budget < 4096:
            return "low"
        return "medium" if budget < 16384 else "high"
    if kind == "adaptive":
        effort = output_config.get("effort") if isinstance(output_config, Mapping) else None
        if effort in EFFORTS:
            return str(effort)
        return "high" if effort in ("max", "xhigh") else "medium"
    return None


def clamp_max_tokens(
    request: dict[str, Any], limit: int | None, changes: Changes, keys: tuple[str, ...]
) -> None:
    if limit is None:
        return
    for key in keys:
        value = request.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            request[key] = limit
            changes.append(f"{key} {value}->{limit} (model_info.max_output_tokens)")


def _clamp_thinking_budget(request: dict[str, Any], changes: Changes) -> None:
    thinking = request.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    max_tokens = request.get("max_tokens")
    if not isinstance(budget, int) or not isinstance(max_tokens, int) or budget < max_tokens:
        return
    new_budget = max_tokens - 1
    if new_budget < MIN_THINKING_BUDGET:
        turn_thinking_off(request)
        changes.append(f"thinking off: max_tokens {max_tokens} leaves no budget >= {MIN_THINKING_BUDGET}")
        return
    request["thinking"] = {**thinking, "budget_tokens": new_budget}
    changes.append(f"thinking.budget_tokens {budget}->{new_budget} (below max_tokens)")


def drop_thinking_blocks(messages: Any) -> tuple[Any, int]:
    """Assistant turns without their thinking blocks; returns (messages, blocks dropped)."""
    if not isinstance(messages, list):
        return messages, 0
    dropped = 0
    result: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if message_is_assistant(message) and isinstance(content, list):
            kept = [block for block in content if not is_thinking_block(block)]
            if len(kept) != len(content):
                dropped += len(content) - len(kept)
                message = {**message, "content": kept or [{"type": "text", "text": ""}]}
        result.append(message)
    return result, dropped


def transform_anthropic_request(
    request: Mapping[str, Any], profile: DeploymentProfile
) -> tuple[dict[str, Any], Changes]:
    out = dict(request)
    changes: Changes = []
    clamp_max_tokens(out, profile.max_output_tokens, changes, ("max_tokens",))
    if profile.speaks_anthropic:
        _clamp_thinking_budget(out, changes)
        if profile.tool_schema != "none":
            out["tools"] = _clean_anthropic_tools(out.get("tools"), profile, changes)
        return out, changes

    thinking = out.pop("thinking", None)
    output_config = out.get("output_config")
    effort = thinking_to_effort(thinking, output_config)
    if isinstance(output_config, Mapping) and "effort" in output_config:
        stripped = without_effort(output_config)
        if stripped is None:
            out.pop("output_config")
        else:
            out["output_config"] = stripped
        changes.append("output_config.effort dropped (not an Anthropic target)")
    if effort is not None and profile.supports_reasoning:
        out["reasoning_effort"] = effort
        changes.append(f"thinking -> reasoning_effort={effort}")
    elif thinking is not None:
        changes.append("thinking dropped (model_info.supports_reasoning is not true)")
    if profile.reasoning_input != "keep":
        messages, dropped = drop_thinking_blocks(out.get("messages"))
        if dropped:
            out["messages"] = messages
            changes.append(f"{dropped} thinking block(s) dropped from history (reasoning_input: drop)")
    return out, changes


ABSENT: Final = object()  # a tool with no schema to clean


def _anthropic_schema(tool: Any) -> Any:
    schema = tool.get("input_schema") if isinstance(tool, Mapping) else None
    return schema if isinstance(schema, Mapping) else ABSENT


def _with_anthropic_schema(tool: Mapping[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**tool, "input_schema": schema}


def _openai_schema(tool: Any) -> Any:
    # A `parameters` that is present but not an object is replaced by an empty object schema.
    function = tool.get("function") if isinstance(tool, Mapping) else None
    return function["parameters"] if isinstance(function, Mapping) and "parameters" in function else ABSENT


def _with_openai_schema(tool: Mapping[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**tool, "function": {**tool["function"], "parameters": schema}}


def _clean_tools(
    tools: Any,
    profile: DeploymentProfile,
    changes: Changes,
    schema_of: Callable[[Any], Any],
    with_schema: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]],
) -> Any:
    """Each tool with its schema cleaned for `profile` (Anthropic or OpenAI tool shape)."""
    if not isinstance(tools, list):
        return tools
    cleaned: list[Any] = []
    removed: set[str] = set()
    normalized = False
    for tool in tools:
        schema = schema_of(tool)
        if schema is not ABSENT:
            new_schema, dropped = clean_schema(schema, profile.tool_schema, profile.tool_schema_drop_keys)
            removed |= dropped
            normalized = normalized or new_schema != schema
            tool = with_schema(tool, new_schema)
        cleaned.append(tool)
    _record_tool_cleaning(profile, removed, normalized, changes)
    return cleaned


def _clean_anthropic_tools(tools: Any, profile: DeploymentProfile, changes: Changes) -> Any:
    return _clean_tools(tools, profile, changes, _anthropic_schema, _with_anthropic_schema)


def _clean_openai_tools(tools: Any, profile: DeploymentProfile, changes: Changes) -> Any:
    if profile.tool_schema == "none":
        return tools
    return _clean_tools(tools, profile, changes, _openai_schema, _with_openai_schema)


def _record_tool_cleaning(
    profile: DeploymentProfile, removed: set[str], normalized: bool, changes: Changes
) -> None:
    # A schema can change without losing a key (a missing top-level `type` added, `type: [x, null]`
    # made `nullable`); it must still count as a change or the transformer discards the result.
    if removed:
        changes.append(
            f"tool schemas cleaned for {profile.tool_schema}: removed {', '.join(sorted(removed))}"
        )
    elif normalized:
        changes.append(f"tool schemas normalized for {profile.tool_schema}")


def transform_openai_request(
    request: Mapping[str, Any], profile: DeploymentProfile
) -> tuple[dict[str, Any], Changes]:
    out = dict(request)
    changes: Changes = []
    clamp_max_tokens(out, profile.max_output_tokens, changes, ("max_tokens", "max_completion_tokens"))
    if profile.speaks_anthropic:
        _clamp_thinking_budget(out, changes)
        return out, changes
    thinking = out.pop("thinking", None)
    if thinking is not None and out.get("reasoning_effort") is None and profile.supports_reasoning:
        effort = thinking_to_effort(thinking, None)
        if effort is not None:
            out["reasoning_effort"] = effort
            changes.append(f"thinking -> reasoning_effort={effort}")
        else:
            changes.append("thinking dropped")
    elif thinking is not None:
        changes.append("thinking dropped")
    if out.get("reasoning_effort") is not None and not profile.supports_reasoning:
        out.pop("reasoning_effort")
        changes.append("reasoning_effort dropped (model_info.supports_reasoning is not true)")
    if profile.reasoning_input != "keep":
        messages, dropped = drop_reasoning_from_openai_messages(out.get("messages"))
        if dropped:
            out["messages"] = messages
            changes.append(f"{dropped} reasoning field(s) dropped from history (reasoning_input: drop)")
    if "tools" in out:
        out["tools"] = _clean_openai_tools(out.get("tools"), profile, changes)
    return out, changes
