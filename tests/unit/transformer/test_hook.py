"""Unit tests for litellm_plugins.transformer.hook: the hooks awaited directly with LiteLLM-shaped kwargs."""

from __future__ import annotations

import os

# Importing litellm would otherwise try to download the model cost map (no network in unit tests).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import copy
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from litellm.types.utils import CallTypes

from litellm_plugins.core.settings import NotStartedError, load_settings, parse_settings
from litellm_plugins.transformer.hook import METADATA_KEY, RequestTransformer
from litellm_plugins.transformer.tool_schema import GEMINI_KEYS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "claude_code_request.json"
GROUPS = frozenset({"default", "fast", "reasoner"})
ALIASES = {"claude-*haiku*": "fast", "claude-*": "default"}

DEEPSEEK_INFO = {
    "id": "deepseek-1",
    "db_model": False,
    "max_output_tokens": 8192,
    "supports_reasoning": False,
}
REASONER_INFO = {
    "id": "reasoner-1",
    "db_model": False,
    "max_output_tokens": 32768,
    "supports_reasoning": True,
}
GEMINI_INFO = {"id": "gemini-1", "db_model": False, "max_output_tokens": 8192, "tool_schema": "gemini"}


def claude_code_body() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["body"]


def transformer(aliases: Mapping[str, str] | None = None) -> RequestTransformer:
    settings = parse_settings({"model_aliases": dict(ALIASES if aliases is None else aliases)})
    return RequestTransformer(settings=settings, group_names=lambda: GROUPS)


def anthropic_kwargs(
    body: dict[str, Any] | None = None,
    *,
    model: str = "openai/deepseek-chat",
    provider: str = "openai",
    model_info: Mapping[str, Any] = DEEPSEEK_INFO,
    api_base: str | None = "https://api.deepseek.com/v1",
) -> dict[str, Any]:
    """What LiteLLM hands the deployment hook for one /v1/messages attempt."""
    request = claude_code_body() if body is None else body
    request = {k: v for k, v in request.items() if k != "model"}
    return {
        "model": model,
        "custom_llm_provider": provider,
        "api_base": api_base,
        "model_info": dict(model_info),
        "litellm_metadata": {"model_group": "default", "user_api_key_alias": "cc"},
        "litellm_call_id": "0f3c-call",
        **request,
    }


def openai_kwargs(
    messages: list[dict[str, Any]],
    *,
    model_info: Mapping[str, Any] = DEEPSEEK_INFO,
    **params: Any,
) -> dict[str, Any]:
    """What LiteLLM hands the deployment hook for one /v1/chat/completions attempt."""
    return {
        "model": "openai/deepseek-chat",
        "custom_llm_provider": "openai",
        "api_base": "https://api.deepseek.com/v1",
        "model_info": dict(model_info),
        "metadata": {"model_group": "default"},
        "litellm_call_id": "1a2b-call",
        "messages": messages,
        **params,
    }


def deployment_hook(
    hook: RequestTransformer, kwargs: dict[str, Any], call_type: Any
) -> dict[str, Any] | None:
    return asyncio.run(hook.async_pre_call_deployment_hook(kwargs, call_type))


def without_record(kwargs: dict[str, Any]) -> dict[str, Any]:
    """kwargs minus the change record the hook appends to the request's shared metadata."""
    result = copy.deepcopy(kwargs)
    for key in ("litellm_metadata", "metadata"):
        if isinstance(result.get(key), dict):
            result[key].pop(METADATA_KEY, None)
    return result


def openai_tools() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
        }
        for t in claude_code_body()["tools"]
    ]


# --- async_pre_call_deployment_hook: nothing to change -----------------------------------


@pytest.mark.parametrize(
    ("kwargs", "call_type"),
    [
        (
            anthropic_kwargs(
                {"max_tokens": 4096, "messages": [{"role": "user", "content": "hi"}], "stream": True}
            ),
            CallTypes.anthropic_messages,
        ),
        # A native Anthropic deployment gets Claude Code's request exactly as sent.
        (
            anthropic_kwargs(
                model="anthropic/claude-sonnet-4-5",
                provider="anthropic",
                model_info={"id": "anthropic-1"},
                api_base="https://api.anthropic.com",
            ),
            CallTypes.anthropic_messages,
        ),
        (openai_kwargs([{"role": "user", "content": "hi"}], max_tokens=1024), CallTypes.acompletion),
        (
            openai_kwargs(
                [{"role": "user", "content": "hi"}], model_info=REASONER_INFO, reasoning_effort="high"
            ),
            CallTypes.acompletion,
        ),
        (openai_kwargs([{"role": "user", "content": "hi"}], max_tokens=64000), CallTypes.embedding),
        (openai_kwargs([{"role": "user", "content": "hi"}], max_tokens=64000), None),
    ],
    ids=[
        "small-anthropic",
        "native-anthropic",
        "small-openai",
        "reasoning-openai",
        "embedding",
        "no-call-type",
    ],
)
def test_hook_returns_none_and_leaves_kwargs_alone_when_nothing_changes(
    kwargs: dict[str, Any], call_type: Any
) -> None:
    before = copy.deepcopy(kwargs)
    assert deployment_hook(transformer(), kwargs, call_type) is None
    assert kwargs == before


# --- async_pre_call_deployment_hook: /v1/messages ----------------------------------------


def test_claude_code_request_for_deepseek() -> None:
    kwargs = anthropic_kwargs()
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    assert out["max_tokens"] == 8192
    assert "thinking" not in out
    assert "output_config" not in out
    assert "reasoning_effort" not in out
    assert out["model"] == "openai/deepseek-chat"
    assert out["messages"] == before["messages"]
    assert out["tools"] == before["tools"]
    # The request itself is untouched: LiteLLM reuses it for retries and fallbacks.
    assert without_record(kwargs) == before
    record = out["litellm_metadata"][METADATA_KEY]
    assert len(record) == 1
    assert record[0]["deployment"] == "openai/deepseek-chat"
    assert "max_tokens 64000->8192 (model_info.max_output_tokens)" in record[0]["changes"]
    # The Anthropic request's own `metadata` (sent upstream) never carries the record.
    assert out["metadata"] == before["metadata"]
    assert METADATA_KEY not in out["metadata"]


def test_change_record_lands_in_the_requests_shared_logging_metadata() -> None:
    kwargs = anthropic_kwargs()
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    # One metadata dict per client request: logging sees the record through the original kwargs.
    assert out["litellm_metadata"] is kwargs["litellm_metadata"]
    assert kwargs["litellm_metadata"][METADATA_KEY] == out["litellm_metadata"][METADATA_KEY]
    assert kwargs["litellm_metadata"]["model_group"] == "default"


def test_claude_code_request_for_reasoning_deployment() -> None:
    kwargs = anthropic_kwargs(model="openai/gpt-reasoning", model_info=REASONER_INFO)
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    assert out["reasoning_effort"] == "high"
    assert out["max_tokens"] == 32768
    assert "thinking" not in out and "output_config" not in out
    assert without_record(kwargs) == before
    assert "thinking -> reasoning_effort=high" in out["litellm_metadata"][METADATA_KEY][0]["changes"]


def test_call_type_given_as_string_value() -> None:
    out = deployment_hook(transformer(), anthropic_kwargs(), "anthropic_messages")
    assert out is not None and out["max_tokens"] == 8192


def test_older_thinking_form_on_anthropic_speaking_endpoint_clamps_budget() -> None:
    body = claude_code_body()
    body.pop("output_config")
    body["thinking"] = {"type": "enabled", "budget_tokens": 31999}
    body["max_tokens"] = 32000
    kwargs = anthropic_kwargs(
        body,
        model="anthropic/glm-4.6",
        provider="anthropic",
        model_info={"id": "glm-1", "max_output_tokens": 8192},
        api_base="https://api.z.ai/api/anthropic",
    )
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    assert out["max_tokens"] == 8192
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8191}
    assert out["tools"] == before["tools"]
    assert without_record(kwargs) == before


def test_thinking_history_dropped_for_deepseek() -> None:
    body = claude_code_body()
    body["max_tokens"] = 4096
    body.pop("thinking")
    body.pop("output_config")
    body["messages"] = body["messages"] + [
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Hello."},
            ],
        },
        {"role": "user", "content": "go on"},
    ]
    kwargs = anthropic_kwargs(body)
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    assert out["messages"][-2] == {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]}
    assert out["messages"][:-2] == before["messages"][:-2]
    assert without_record(kwargs) == before
    assert out["litellm_metadata"][METADATA_KEY][0]["changes"] == [
        "1 thinking block(s) dropped from history (reasoning_input: drop)"
    ]


def test_each_attempt_starts_from_the_original_request_and_is_recorded() -> None:
    hook = transformer()
    kwargs = anthropic_kwargs()
    before = copy.deepcopy(kwargs)
    first = deployment_hook(hook, kwargs, CallTypes.anthropic_messages)
    retry = {**kwargs, "model": "openai/gpt-reasoning", "model_info": dict(REASONER_INFO)}
    second = deployment_hook(hook, retry, CallTypes.anthropic_messages)
    assert first is not None and second is not None
    assert "reasoning_effort" not in first
    assert second["reasoning_effort"] == "high"
    assert second["max_tokens"] == 32768
    assert [entry["deployment"] for entry in kwargs["litellm_metadata"][METADATA_KEY]] == [
        "openai/deepseek-chat",
        "openai/gpt-reasoning",
    ]
    assert without_record(kwargs) == before


def test_changes_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="litellm_plugins.transformer.hook"):
        deployment_hook(transformer(), anthropic_kwargs(), CallTypes.anthropic_messages)
    messages = [r.getMessage() for r in caplog.records if r.name == "litellm_plugins.transformer.hook"]
    assert any(
        m.startswith("transformer: deployment openai/deepseek-chat: max_tokens 64000->8192") for m in messages
    )


def test_output_config_effort_alone_is_not_lost() -> None:
    kwargs = anthropic_kwargs(
        {
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "hi"}],
            "output_config": {"effort": "low"},
        }
    )
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None
    assert "output_config" not in out
    assert without_record(kwargs) == before


def test_record_goes_nowhere_without_a_metadata_dict() -> None:
    kwargs = anthropic_kwargs()
    kwargs.pop("litellm_metadata")
    kwargs.pop("metadata")
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.anthropic_messages)
    assert out is not None and out["max_tokens"] == 8192
    assert kwargs == before
    assert METADATA_KEY not in json.dumps(out)


# --- async_pre_call_deployment_hook: /v1/chat/completions --------------------------------


def test_openai_request_reasoning_and_history_cleaned() -> None:
    messages = [
        {"role": "user", "content": "list files"},
        {
            "role": "assistant",
            "content": "ok",
            "reasoning_content": "thinking...",
            "thinking_blocks": [{"type": "thinking"}],
        },
        {"role": "user", "content": "thanks"},
    ]
    kwargs = openai_kwargs(messages, max_tokens=64000, reasoning_effort="high", stream=True)
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.acompletion)
    assert out is not None
    assert out["max_tokens"] == 8192
    assert "reasoning_effort" not in out
    assert out["messages"][1] == {"role": "assistant", "content": "ok"}
    assert without_record(kwargs) == before
    changes = out["metadata"][METADATA_KEY][0]["changes"]
    assert "reasoning_effort dropped (model_info.supports_reasoning is not true)" in changes
    assert "2 reasoning field(s) dropped from history (reasoning_input: drop)" in changes


def test_openai_tools_cleaned_for_gemini_deployment() -> None:
    kwargs = openai_kwargs([{"role": "user", "content": "hi"}], model_info=GEMINI_INFO, tools=openai_tools())
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.acompletion)
    assert out is not None

    def walk(node: Mapping[str, Any]) -> None:
        assert set(node) <= GEMINI_KEYS
        for sub in (node.get("properties") or {}).values():
            walk(sub)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"])
        for sub in node.get("anyOf") or ():
            walk(sub)

    assert len(out["tools"]) == 24
    for tool in out["tools"]:
        walk(tool["function"]["parameters"])
    assert without_record(kwargs) == before
    assert out["metadata"][METADATA_KEY][0]["changes"][0].startswith(
        "tool schemas cleaned for gemini: removed "
    )


def test_openai_disabled_thinking_is_not_silently_dropped() -> None:
    kwargs = openai_kwargs(
        [{"role": "user", "content": "hi"}], model_info=REASONER_INFO, thinking={"type": "disabled"}
    )
    before = copy.deepcopy(kwargs)
    out = deployment_hook(transformer(), kwargs, CallTypes.acompletion)
    assert out is not None
    assert "thinking" not in out
    assert without_record(kwargs) == before


# --- async_pre_call_hook: model aliases --------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "group"),
    [
        ("claude-haiku-4-5-20251001", "fast"),
        ("claude-sonnet-5", "default"),
        ("claude-opus-4-5", "default"),
    ],
)
def test_pre_call_hook_maps_claude_ids_onto_groups(requested: str, group: str) -> None:
    data = {"model": requested, "messages": [], "litellm_metadata": {}}
    result = asyncio.run(transformer().async_pre_call_hook(None, None, data, "anthropic_messages"))
    assert result is data
    assert data["model"] == group
    assert data["litellm_metadata"]["litellm_plugins_requested_model"] == requested


@pytest.mark.parametrize(
    ("data", "aliases"),
    [
        ({"model": "default", "messages": [], "metadata": {}}, ALIASES),
        ({"model": "gpt-4o", "messages": [], "metadata": {}}, ALIASES),
        ({"model": "claude-sonnet-5", "messages": [], "metadata": {}}, {}),
        ({"model": None, "messages": [], "metadata": {}}, ALIASES),
        ({"messages": [], "metadata": {}}, ALIASES),
    ],
)
def test_pre_call_hook_leaves_other_requests_alone(data: dict[str, Any], aliases: Mapping[str, str]) -> None:
    before = copy.deepcopy(data)
    result = asyncio.run(transformer(aliases).async_pre_call_hook(None, None, data, "acompletion"))
    assert result is data
    assert data == before


def test_pre_call_hook_without_metadata_still_maps() -> None:
    data: dict[str, Any] = {"model": "claude-3-5-haiku-latest", "messages": []}
    asyncio.run(transformer().async_pre_call_hook(None, None, data, "acompletion"))
    assert data == {"model": "fast", "messages": []}


def test_pre_call_hook_maps_the_recorded_claude_code_model() -> None:
    body = claude_code_body()
    data = {**body, "litellm_metadata": {}}
    asyncio.run(transformer().async_pre_call_hook(None, None, data, CallTypes.anthropic_messages))
    assert data["model"] == "default"
    assert data["litellm_metadata"]["litellm_plugins_requested_model"] == body["model"]
    # The Anthropic request's own metadata is not where the plugin writes.
    assert data["metadata"] == body["metadata"]


def test_settings_come_from_startup_not_from_the_first_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('litellm_plugins:\n  model_aliases:\n    "claude-*": reasoner\n', encoding="utf-8")
    monkeypatch.setenv("LITELLM_PLUGINS_CONFIG", str(config))
    hook = RequestTransformer(group_names=lambda: GROUPS)
    data = {"model": "claude-sonnet-5", "messages": []}
    with pytest.raises(NotStartedError, match="litellm_plugins.startup.start"):
        asyncio.run(hook.async_pre_call_hook(None, None, data, "acompletion"))
    hook.configure(load_settings())
    asyncio.run(hook.async_pre_call_hook(None, None, data, "acompletion"))
    assert data["model"] == "reasoner"
    assert hook.settings.model_aliases == (("claude-*", "reasoner"),)
