"""Unit tests for litellm_plugins.transformer.request_rules: per-deployment rules over one attempt's
request."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from litellm_plugins.core.deployment import DeploymentProfile
from litellm_plugins.transformer.request_rules import (
    MIN_THINKING_BUDGET,
    clamp_max_tokens,
    drop_reasoning_from_openai_messages,
    drop_thinking_blocks,
    thinking_to_effort,
    transform_anthropic_request,
    transform_openai_request,
)
from litellm_plugins.transformer.tool_schema import GEMINI_KEYS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "claude_code_request.json"


def claude_code_body() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["body"]


def profile(**overrides: Any) -> DeploymentProfile:
    values: dict[str, Any] = {
        "model": "openai/deepseek-chat",
        "provider": "openai",
        "api_base": None,
        "max_output_tokens": 8192,
        "supports_reasoning": False,
        "reasoning_input": "drop",
        "tool_schema": "openai",
        "tool_schema_drop_keys": frozenset(),
    }
    values.update(overrides)
    return DeploymentProfile(**values)


DEEPSEEK = profile()
REASONER = profile(model="openai/gpt-reasoning", max_output_tokens=32768, supports_reasoning=True)
ANTHROPIC = profile(
    model="anthropic/claude-sonnet-4-5",
    provider="anthropic",
    max_output_tokens=8192,
    supports_reasoning=True,
    reasoning_input="keep",
    tool_schema="none",
)


def transform_pure(
    transform: Any, request: dict[str, Any], target: DeploymentProfile
) -> tuple[dict[str, Any], list[str]]:
    """Run a transform and check it left its input exactly as it was."""
    before = copy.deepcopy(request)
    out, changes = transform(request, target)
    assert request == before, "the transform mutated its input"
    assert out is not request
    return out, changes


def anthropic(request: dict[str, Any], target: DeploymentProfile) -> tuple[dict[str, Any], list[str]]:
    return transform_pure(transform_anthropic_request, request, target)


def openai(request: dict[str, Any], target: DeploymentProfile) -> tuple[dict[str, Any], list[str]]:
    return transform_pure(transform_openai_request, request, target)


# --- thinking_to_effort ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thinking", "output_config", "effort"),
    [
        (None, None, None),
        ("enabled", None, None),
        ({"type": "disabled"}, None, None),
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 4095}, None, "low"),
        ({"type": "enabled", "budget_tokens": 4096}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 16383}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 16384}, None, "high"),
        ({"type": "enabled", "budget_tokens": 31999}, None, "high"),
        ({"type": "enabled"}, None, "medium"),
        ({"type": "enabled", "budget_tokens": "31999"}, None, "medium"),
        ({"type": "enabled", "budget_tokens": True}, None, "medium"),
        ({"type": "adaptive"}, {"effort": "high"}, "high"),
        ({"type": "adaptive"}, {"effort": "medium"}, "medium"),
        ({"type": "adaptive"}, {"effort": "low"}, "low"),
        ({"type": "adaptive"}, {"effort": "max"}, "high"),
        ({"type": "adaptive"}, {"effort": "xhigh"}, "high"),
        ({"type": "adaptive"}, {}, "medium"),
        ({"type": "adaptive"}, None, "medium"),
        ({"type": "adaptive"}, "high", "medium"),
    ],
)
def test_thinking_to_effort(thinking: Any, output_config: Any, effort: str | None) -> None:
    assert thinking_to_effort(thinking, output_config) == effort


# --- clamp_max_tokens -----------------------------------------------------------------------


def test_clamp_max_tokens_clamps_each_key_and_records_it() -> None:
    request = {"max_tokens": 64000, "max_completion_tokens": 9000}
    changes: list[str] = []
    clamp_max_tokens(request, 8192, changes, ("max_tokens", "max_completion_tokens"))
    assert request == {"max_tokens": 8192, "max_completion_tokens": 8192}
    assert changes == [
        "max_tokens 64000->8192 (model_info.max_output_tokens)",
        "max_completion_tokens 9000->8192 (model_info.max_output_tokens)",
    ]


@pytest.mark.parametrize(
    ("request_", "limit"),
    [
        ({"max_tokens": 64000}, None),
        ({"max_tokens": 8192}, 8192),
        ({"max_tokens": 100}, 8192),
        ({"max_tokens": True}, 0),
        ({"max_tokens": "64000"}, 8192),
        ({"max_tokens": None}, 8192),
        ({}, 8192),
    ],
)
def test_clamp_max_tokens_leaves_other_values_alone(request_: dict[str, Any], limit: int | None) -> None:
    before = dict(request_)
    changes: list[str] = []
    clamp_max_tokens(request_, limit, changes, ("max_tokens",))
    assert request_ == before
    assert changes == []


# --- Anthropic-shaped requests: the recorded Claude Code body -------------------------------


def test_claude_code_body_for_deepseek_like_target() -> None:
    body = claude_code_body()
    out, changes = anthropic(body, DEEPSEEK)
    assert out["max_tokens"] == 8192
    assert "thinking" not in out
    assert "effort" not in (out.get("output_config") or {})
    assert "output_config" not in out  # it held nothing but the effort
    assert "reasoning_effort" not in out
    assert "max_tokens 64000->8192 (model_info.max_output_tokens)" in changes
    assert any(change.startswith("thinking dropped") for change in changes)
    # Everything else is passed on as it came.
    for key in ("model", "messages", "system", "tools", "metadata", "context_management", "stream"):
        assert out[key] == body[key], key


def test_claude_code_body_for_reasoning_target() -> None:
    out, changes = anthropic(claude_code_body(), REASONER)
    assert out["reasoning_effort"] == "high"
    assert out["max_tokens"] == 32768
    assert "thinking" not in out
    assert "output_config" not in out
    assert "thinking -> reasoning_effort=high" in changes


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_adaptive_thinking_takes_output_config_effort(effort: str) -> None:
    body = claude_code_body()
    body["output_config"] = {"effort": effort}
    out, _ = anthropic(body, REASONER)
    assert out["reasoning_effort"] == effort


def test_older_claude_code_thinking_budget_maps_to_high_effort() -> None:
    body = claude_code_body()
    body.pop("output_config")
    body["thinking"] = {"type": "enabled", "budget_tokens": 31999}
    body["max_tokens"] = 32000
    out, changes = anthropic(body, REASONER)
    assert out["reasoning_effort"] == "high"
    assert out["max_tokens"] == 32000
    assert "thinking" not in out
    assert changes == ["thinking -> reasoning_effort=high"]


def test_older_claude_code_thinking_dropped_for_non_reasoning_target() -> None:
    body = claude_code_body()
    body.pop("output_config")
    body["thinking"] = {"type": "enabled", "budget_tokens": 31999}
    body["max_tokens"] = 32000
    out, changes = anthropic(body, DEEPSEEK)
    assert "thinking" not in out
    assert "reasoning_effort" not in out
    assert out["max_tokens"] == 8192
    assert "thinking dropped (model_info.supports_reasoning is not true)" in changes


def test_output_config_keeps_other_settings_without_effort() -> None:
    body = claude_code_body()
    body["output_config"] = {"effort": "high", "format": {"type": "json_schema"}}
    out, _ = anthropic(body, DEEPSEEK)
    assert out["output_config"] == {"format": {"type": "json_schema"}}


def test_output_config_effort_alone_is_dropped_and_recorded() -> None:
    request = {"model": "m", "max_tokens": 1000, "messages": [], "output_config": {"effort": "high"}}
    out, changes = anthropic(request, DEEPSEEK)
    assert "output_config" not in out
    assert "reasoning_effort" not in out
    # A change that is not recorded would be thrown away by the transformer hook.
    assert changes


def test_disabled_thinking_is_removed_for_non_anthropic_targets() -> None:
    out, changes = anthropic({"max_tokens": 1000, "thinking": {"type": "disabled"}}, REASONER)
    assert "thinking" not in out
    assert "reasoning_effort" not in out
    assert changes


def test_nothing_to_change_gives_no_changes() -> None:
    request = {"model": "m", "max_tokens": 4096, "messages": [{"role": "user", "content": "hi"}]}
    out, changes = anthropic(request, DEEPSEEK)
    assert out == request
    assert changes == []


# --- Anthropic-speaking targets -------------------------------------------------------------


def test_anthropic_target_keeps_claude_code_body_except_max_tokens() -> None:
    body = claude_code_body()
    out, changes = anthropic(body, ANTHROPIC)
    assert out == {**body, "max_tokens": 8192}
    assert out["thinking"] == {"type": "adaptive"}
    assert out["output_config"] == {"effort": "high"}
    assert changes == ["max_tokens 64000->8192 (model_info.max_output_tokens)"]


def test_anthropic_target_clamps_thinking_budget_below_max_tokens() -> None:
    body = claude_code_body()
    body["thinking"] = {"type": "enabled", "budget_tokens": 31999}
    body["max_tokens"] = 32000
    out, changes = anthropic(body, ANTHROPIC)
    assert out["max_tokens"] == 8192
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8191}
    assert "thinking.budget_tokens 31999->8191 (below max_tokens)" in changes
    assert "reasoning_effort" not in out


def test_anthropic_target_budget_equal_to_max_tokens_without_limit() -> None:
    request = {"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 32000}}
    out, changes = anthropic(
        request, profile(provider="anthropic", max_output_tokens=None, tool_schema="none")
    )
    assert out["thinking"]["budget_tokens"] == 31999
    assert out["max_tokens"] == 32000
    assert len(changes) == 1


@pytest.mark.parametrize(("limit", "kept"), [(MIN_THINKING_BUDGET, False), (MIN_THINKING_BUDGET + 1, True)])
def test_anthropic_target_thinking_removed_when_budget_would_go_under_minimum(limit: int, kept: bool) -> None:
    request = {"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 31999}}
    out, changes = anthropic(
        request, profile(provider="anthropic", max_output_tokens=limit, tool_schema="none")
    )
    assert out["max_tokens"] == limit
    if kept:
        assert out["thinking"]["budget_tokens"] == MIN_THINKING_BUDGET
    else:
        assert "thinking" not in out
        assert any(change.startswith("thinking off") for change in changes)


def test_anthropic_target_budget_already_below_max_tokens_is_untouched() -> None:
    request = {"max_tokens": 8000, "thinking": {"type": "enabled", "budget_tokens": 4000}}
    out, changes = anthropic(request, ANTHROPIC)
    assert out == request
    assert changes == []


def test_anthropic_target_keeps_thinking_blocks_in_history() -> None:
    body = claude_code_body()
    body["messages"] = HISTORY
    out, _ = anthropic(
        body,
        profile(provider="anthropic", max_output_tokens=None, reasoning_input="drop", tool_schema="none"),
    )
    assert out["messages"] == HISTORY


def test_anthropic_target_with_gemini_tool_schema_cleans_input_schemas() -> None:
    body = claude_code_body()
    out, changes = anthropic(
        body, profile(provider="anthropic", max_output_tokens=None, tool_schema="gemini")
    )
    assert [tool["name"] for tool in out["tools"]] == [tool["name"] for tool in body["tools"]]
    for tool in out["tools"]:
        assert "$schema" not in tool["input_schema"]
        assert "additionalProperties" not in tool["input_schema"]
        assert set(tool["input_schema"]) <= GEMINI_KEYS
    assert any(change.startswith("tool schemas cleaned for gemini: removed ") for change in changes)


def test_anthropic_target_tool_schema_normalization_without_removal_is_recorded() -> None:
    request = {"tools": [{"name": "t", "input_schema": {"properties": {"a": {"type": "string"}}}}]}
    out, changes = anthropic(
        request, profile(provider="anthropic", max_output_tokens=None, tool_schema="openai")
    )
    assert out["tools"][0]["input_schema"]["type"] == "object"
    assert changes == ["tool schemas normalized for openai"]


# --- History: thinking blocks in earlier assistant turns ------------------------------------


HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": [{"type": "text", "text": "list files"}]},
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "I should run ls", "signature": "sig"},
            {"type": "text", "text": "Running ls."},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        ],
    },
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a\nb"}]},
    {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "opaque"}]},
    {"role": "user", "content": "thanks"},
    {"role": "assistant", "content": "plain string content"},
]


def test_thinking_blocks_dropped_from_history_for_non_anthropic_targets() -> None:
    body = claude_code_body()
    body["messages"] = copy.deepcopy(HISTORY)
    out, changes = anthropic(body, DEEPSEEK)
    messages = out["messages"]
    assert len(messages) == len(HISTORY)
    assert [block["type"] for block in messages[1]["content"]] == ["text", "tool_use"]
    # A turn that held only thinking keeps a placeholder so it is not empty.
    assert messages[3]["content"] == [{"type": "text", "text": ""}]
    assert messages[0] == HISTORY[0] and messages[2] == HISTORY[2] and messages[5] == HISTORY[5]
    assert "2 thinking block(s) dropped from history (reasoning_input: drop)" in changes


def test_thinking_blocks_kept_with_reasoning_input_keep() -> None:
    body = claude_code_body()
    body["messages"] = copy.deepcopy(HISTORY)
    out, changes = anthropic(body, profile(reasoning_input="keep"))
    assert out["messages"] == HISTORY
    assert not any("thinking block" in change for change in changes)


def test_drop_thinking_blocks_leaves_user_turns_and_non_lists_alone() -> None:
    user_thinking = [{"role": "user", "content": [{"type": "thinking", "thinking": "x"}]}]
    assert drop_thinking_blocks(user_thinking) == (user_thinking, 0)
    assert drop_thinking_blocks(None) == (None, 0)
    assert drop_thinking_blocks("messages") == ("messages", 0)
    messages, dropped = drop_thinking_blocks(["not a message", {"role": "assistant"}])
    assert messages == ["not a message", {"role": "assistant"}]
    assert dropped == 0


# --- OpenAI-shaped requests -----------------------------------------------------------------


def test_openai_request_clamps_both_token_keys() -> None:
    request = {"model": "m", "messages": [], "max_tokens": 64000, "max_completion_tokens": 50000}
    out, changes = openai(request, DEEPSEEK)
    assert out["max_tokens"] == 8192
    assert out["max_completion_tokens"] == 8192
    assert len(changes) == 2


def test_openai_request_reasoning_effort_dropped_for_non_reasoning_target() -> None:
    out, changes = openai({"messages": [], "reasoning_effort": "high"}, DEEPSEEK)
    assert "reasoning_effort" not in out
    assert changes == ["reasoning_effort dropped (model_info.supports_reasoning is not true)"]


def test_openai_request_reasoning_effort_kept_for_reasoning_target() -> None:
    request = {"messages": [], "reasoning_effort": "high"}
    out, changes = openai(request, REASONER)
    assert out == request
    assert changes == []


def test_openai_request_thinking_becomes_reasoning_effort() -> None:
    out, changes = openai({"messages": [], "thinking": {"type": "enabled", "budget_tokens": 31999}}, REASONER)
    assert out["reasoning_effort"] == "high"
    assert "thinking" not in out
    assert changes == ["thinking -> reasoning_effort=high"]


def test_openai_request_explicit_reasoning_effort_wins_over_thinking() -> None:
    request = {
        "messages": [],
        "reasoning_effort": "low",
        "thinking": {"type": "enabled", "budget_tokens": 31999},
    }
    out, changes = openai(request, REASONER)
    assert out["reasoning_effort"] == "low"
    assert "thinking" not in out
    assert changes == ["thinking dropped"]


def test_openai_request_thinking_dropped_for_non_reasoning_target() -> None:
    out, changes = openai({"messages": [], "thinking": {"type": "enabled", "budget_tokens": 2048}}, DEEPSEEK)
    assert "thinking" not in out and "reasoning_effort" not in out
    assert changes == ["thinking dropped"]


def test_openai_request_disabled_thinking_removal_is_recorded() -> None:
    out, changes = openai({"messages": [], "thinking": {"type": "disabled"}}, REASONER)
    assert "thinking" not in out
    assert "reasoning_effort" not in out
    assert changes == ["thinking dropped"]


OPENAI_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "list files"},
    {
        "role": "assistant",
        "content": "Running ls.",
        "reasoning_content": "I should run ls",
        "thinking_blocks": [{"type": "thinking", "thinking": "I should run ls", "signature": "sig"}],
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "a\nb"},
    {
        "role": "assistant",
        "content": [{"type": "reasoning", "text": "hm"}, {"type": "text", "text": "Done."}],
        "reasoning": None,
    },
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "only thoughts"}]},
    {"role": "assistant", "content": "clean", "reasoning_details": None},
]


def test_openai_history_reasoning_fields_and_parts_dropped() -> None:
    out, changes = openai({"messages": copy.deepcopy(OPENAI_HISTORY)}, DEEPSEEK)
    messages = out["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "Running ls.",
        "tool_calls": OPENAI_HISTORY[1]["tool_calls"],
    }
    assert messages[3] == {"role": "assistant", "content": [{"type": "text", "text": "Done."}]}
    assert messages[4] == {"role": "assistant", "content": ""}
    # Nothing present to drop: the message is passed on unchanged (its None field included).
    assert messages[5] == OPENAI_HISTORY[5]
    assert messages[0] == OPENAI_HISTORY[0] and messages[2] == OPENAI_HISTORY[2]
    assert changes == ["4 reasoning field(s) dropped from history (reasoning_input: drop)"]


def test_openai_history_kept_with_reasoning_input_keep() -> None:
    request = {"messages": copy.deepcopy(OPENAI_HISTORY)}
    out, changes = openai(request, profile(reasoning_input="keep"))
    assert out == request
    assert changes == []


def test_drop_reasoning_from_openai_messages_non_list() -> None:
    assert drop_reasoning_from_openai_messages(None) == (None, 0)
    assert drop_reasoning_from_openai_messages("x") == ("x", 0)


def openai_tools_from_claude_code() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
        }
        for t in claude_code_body()["tools"]
    ]


def test_openai_request_tools_cleaned_for_openai_profile() -> None:
    request = {"messages": [], "tools": openai_tools_from_claude_code()}
    out, changes = openai(request, DEEPSEEK)
    for tool in out["tools"]:
        parameters = tool["function"]["parameters"]
        assert parameters["type"] == "object"
        assert "$schema" not in parameters
    assert changes == ["tool schemas cleaned for openai: removed $schema"]


def test_openai_request_tools_cleaned_for_gemini_profile() -> None:
    request = {"messages": [], "tools": openai_tools_from_claude_code()}
    out, changes = openai(request, profile(tool_schema="gemini"))

    def walk(node: Mapping[str, Any]) -> None:
        assert set(node) <= GEMINI_KEYS
        for sub in (node.get("properties") or {}).values():
            walk(sub)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"])
        for sub in node.get("anyOf") or ():
            walk(sub)

    for tool in out["tools"]:
        walk(tool["function"]["parameters"])
        assert tool["type"] == "function"
    removed = changes[0].removeprefix("tool schemas cleaned for gemini: removed ").split(", ")
    assert {"$schema", "additionalProperties", "propertyNames", "exclusiveMinimum", "const"} <= set(removed)


def test_openai_request_tools_untouched_for_none_profile() -> None:
    request = {"messages": [], "tools": openai_tools_from_claude_code()}
    out, changes = openai(request, profile(tool_schema="none"))
    assert out["tools"] == request["tools"]
    assert changes == []


def test_openai_request_tool_without_parameters_or_malformed_is_kept() -> None:
    tools = [{"type": "function", "function": {"name": "noargs"}}, "garbage", {"type": "custom"}]
    out, changes = openai({"messages": [], "tools": tools}, DEEPSEEK)
    assert out["tools"] == tools
    assert changes == []


def test_openai_request_tool_schema_normalization_without_removal_is_recorded() -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "t", "parameters": {"properties": {"a": {"type": "string"}}}},
        }
    ]
    out, changes = openai({"messages": [], "tools": tools}, DEEPSEEK)
    assert out["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
    }
    assert changes == ["tool schemas normalized for openai"]


def test_openai_request_for_anthropic_target_only_clamps() -> None:
    request = {
        "messages": copy.deepcopy(OPENAI_HISTORY),
        "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "reasoning_effort": "high",
        "tools": openai_tools_from_claude_code(),
    }
    out, changes = openai(request, ANTHROPIC)
    assert out == {**request, "max_tokens": 8192, "thinking": {"type": "enabled", "budget_tokens": 8191}}
    assert len(changes) == 2


def test_openai_request_with_nothing_to_change() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
    out, changes = openai(request, DEEPSEEK)
    assert out == request
    assert changes == []


def test_turning_thinking_off_for_a_tiny_budget_also_drops_what_would_bring_it_back() -> None:
    from litellm_plugins.core.deployment import DeploymentProfile

    profile = DeploymentProfile(
        model="anthropic/claude-sonnet-4-5",
        provider="anthropic",
        api_base=None,
        max_output_tokens=1000,
        supports_reasoning=True,
        reasoning_input="keep",
        tool_schema="none",
        tool_schema_drop_keys=frozenset(),
    )
    request = {
        "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "messages": [{"role": "user", "content": "hi"}],
    }
    out, changes = transform_anthropic_request(request, profile)
    assert "thinking" not in out and "output_config" not in out and "context_management" not in out
    assert request["output_config"] == {"effort": "high"}  # the input is untouched
    assert any(change.startswith("thinking off") for change in changes)
