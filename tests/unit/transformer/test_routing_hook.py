"""Unit tests for the routing rules in the request transformer's hooks (awaited directly)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from litellm.proxy._types import ProxyException
from litellm.types.utils import CallTypes

from litellm_plugins.core.metadata_keys import INPUT_TOKENS_ESTIMATE, REQUESTED_MODEL, ROUTE
from litellm_plugins.core.settings import SettingsError, parse_settings
from litellm_plugins.transformer.hook import RequestTransformer
from tests.unit.routing.fixtures import FakeCounter, recorded

GROUPS = ("anthropic", "anthropic-fast", "glm-fast", "deepseek", "openai", "small")
DEPLOYMENTS: dict[str, list[dict[str, Any]]] = {
    "anthropic": [{"litellm_params": {"model": "anthropic/*"}, "model_info": {"id": "a"}}],
    "anthropic-fast": [{"litellm_params": {"model": "anthropic/*"}, "model_info": {"id": "af"}}],
    "glm-fast": [
        {
            "litellm_params": {
                "model": "anthropic/glm-4.5-air",
                "api_base": "https://api.z.ai/api/anthropic",
            },
            "model_info": {"id": "g", "supports_vision": False},
        }
    ],
    "deepseek": [
        {"litellm_params": {"model": "openai/deepseek-chat"}, "model_info": {"supports_vision": False}}
    ],
    "openai": [{"litellm_params": {"model": "openai/gpt-4.1"}, "model_info": {"id": "o"}}],
    "small": [{"litellm_params": {"model": "openai/small"}, "model_info": {"max_input_tokens": 4000}}],
}
ALIASES = {"claude-*haiku*": "anthropic-fast", "claude-*": "anthropic"}
RULES = [
    {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
    {"name": "think", "when": {"thinking": True}, "to": "deepseek"},
    {"name": "images", "when": {"images": True}, "to": "openai"},
]


def transformer(
    rules: list[dict[str, Any]] | None = None, counter: FakeCounter | None = None
) -> RequestTransformer:
    section: dict[str, Any] = {"model_aliases": ALIASES}
    if rules is not None:
        section["routing"] = {"rules": rules}
    hook = RequestTransformer(
        group_names=lambda: GROUPS,
        group_deployments=lambda group: DEPLOYMENTS.get(group, []),
        token_counter=counter or FakeCounter(),
        model_map=lambda model, provider: None,
    )
    hook.configure(parse_settings(section), GROUPS)
    return hook


def anthropic_data(kind: str, **overrides: Any) -> dict[str, Any]:
    request = recorded(kind)
    return {
        **request["body"],
        **overrides,
        "proxy_server_request": {"headers": request["headers"]},
        "litellm_metadata": {},
    }


def auth(name: str | None = "alice") -> Any:
    return SimpleNamespace(metadata={"proxy_token_name": name} if name else {})


def pre_call(
    hook: RequestTransformer, data: dict[str, Any], call_type: Any = CallTypes.anthropic_messages
) -> dict:
    return asyncio.run(hook.async_pre_call_hook(auth(), None, data, call_type))


def test_a_rule_sets_the_group_and_records_the_route() -> None:
    data = pre_call(transformer(RULES), anthropic_data("haiku"))
    assert data["model"] == "glm-fast"
    assert data["litellm_metadata"][ROUTE] == {
        "rule": "background",
        "group": "glm-fast",
        "requested_model": "claude-haiku-4-5-20251001",
    }
    assert data["litellm_metadata"][REQUESTED_MODEL] == "claude-haiku-4-5-20251001"


def test_a_rules_wildcard_group_still_sends_the_requested_id() -> None:
    hook = transformer([{"name": "web", "when": {"server_tool": "web_search*"}, "to": "anthropic"}])
    data = pre_call(hook, anthropic_data("web_search"))
    assert data["model"] == "anthropic"
    kwargs = {
        **{k: v for k, v in data.items() if k not in ("model", "proxy_server_request")},
        "model": "anthropic/*",
        "custom_llm_provider": "anthropic",
        "model_info": {"id": "a"},
    }
    out = asyncio.run(hook.async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out is not None and out["model"] == "anthropic/claude-opus-5-5"  # the id Claude Code sent


def test_without_a_matching_rule_the_aliases_apply() -> None:
    data = pre_call(transformer([{"when": {"client": "ci-*"}, "to": "openai"}]), anthropic_data("haiku"))
    assert data["model"] == "anthropic-fast" and ROUTE not in data["litellm_metadata"]


def test_a_rule_on_the_thinking_main_loop_call() -> None:
    data = pre_call(transformer(RULES), anthropic_data("thinking"))
    assert data["model"] == "deepseek" and data["litellm_metadata"][ROUTE]["rule"] == "think"


def test_an_image_skips_a_rule_whose_group_cannot_read_it() -> None:
    data = pre_call(transformer(RULES), anthropic_data("image"))  # think -> deepseek: no vision
    assert data["model"] == "openai" and data["litellm_metadata"][ROUTE]["rule"] == "images"


def test_an_image_for_a_non_vision_group_without_a_rule_is_refused() -> None:
    with pytest.raises(ProxyException) as raised:
        pre_call(transformer([]), anthropic_data("image", model="glm-fast"))
    assert raised.value.code == "400" or raised.value.code == 400
    assert raised.value.type == "invalid_request_error"
    assert "'glm-fast' cannot read images" in raised.value.message
    assert "model_info.supports_vision" in raised.value.message


def test_a_picker_id_is_checked_as_the_group_it_names() -> None:
    try:  # LiteLLM 1.108 lists groups for Claude Code's picker under ids of its own
        from litellm.proxy.common_utils.model_listing_utils import claude_code_model_id
    except ImportError:  # older LiteLLM: no picker ids to decode
        from litellm_plugins.transformer.count_tokens import router_id_decoder

        assert router_id_decoder() is None
        return
    picker_id = claude_code_model_id("glm-fast", None, frozenset(GROUPS))
    assert picker_id != "glm-fast"
    with pytest.raises(ProxyException) as raised:
        pre_call(transformer([]), anthropic_data("image", model=picker_id))
    assert "'glm-fast' cannot read images" in raised.value.message


def test_a_prompt_beyond_the_window_is_refused_in_anthropics_wording() -> None:
    counter = FakeCounter(tokens=9000)
    with pytest.raises(ProxyException) as raised:
        pre_call(transformer([], counter), anthropic_data("thinking", model="small"))
    assert raised.value.message.startswith(
        "prompt is too long: 9000 tokens > 4000 maximum (model group 'small'"
    )
    assert counter.calls == [("small", "anthropic")]


def test_a_long_context_rule_routes_the_prompt_the_window_cannot_take() -> None:
    counter = FakeCounter(tokens=9000)
    rules = [{"name": "long", "when": {"input_tokens_above": 3000}, "to": "openai"}]
    data = pre_call(transformer(rules, counter), anthropic_data("thinking", model="small"))
    assert data["model"] == "openai"
    assert data["litellm_metadata"][INPUT_TOKENS_ESTIMATE] == 9000
    assert len(counter.calls) == 1  # the rule and the window check share one estimate


def test_a_clients_metadata_cannot_pose_as_the_estimate_or_the_route() -> None:
    counter = FakeCounter(tokens=9000)
    data = anthropic_data("thinking", model="small")
    data["litellm_metadata"] = {INPUT_TOKENS_ESTIMATE: 10, ROUTE: {"rule": "forged"}}
    with pytest.raises(ProxyException, match="prompt is too long: 9000 tokens > 4000 maximum"):
        pre_call(transformer([], counter), data)
    assert ROUTE not in data["litellm_metadata"]


def test_chat_completions_requests_are_routed_too() -> None:
    data = {
        "model": "gpt-x",
        "reasoning_effort": "high",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {},
        "proxy_server_request": {"headers": {}},
    }
    routed = pre_call(transformer(RULES), data, "completion")
    assert routed["model"] == "deepseek" and routed["metadata"][ROUTE]["rule"] == "think"


def test_other_call_types_are_not_routed() -> None:
    data = {"model": "claude-haiku-4-5", "input": "x", "metadata": {}}
    assert pre_call(transformer(RULES), data, "aembedding")["model"] == "anthropic-fast"


def test_a_rule_naming_no_group_stops_startup() -> None:
    with pytest.raises(SettingsError, match="'glm-fsat' is not a model group"):
        transformer([{"when": {"thinking": True}, "to": "glm-fsat"}])


def test_count_tokens_resolves_through_the_rules() -> None:
    hook = transformer(RULES)
    request = recorded("haiku")
    assert asyncio.run(hook.count_route(request["body"], request["headers"], auth())) == "glm-fast"
    assert asyncio.run(hook.count_route({"model": "claude-sonnet-4-5", "messages": []}, {}, auth())) is None


def deployment_kwargs(max_tokens: int, info: Mapping[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in recorded("thinking")["body"].items() if k != "model"}
    return {
        **body,
        "model": "anthropic/glm-4.6",
        "custom_llm_provider": "anthropic",
        "api_base": "https://api.z.ai/api/anthropic",
        "max_tokens": max_tokens,
        "model_info": dict(info),
        "litellm_metadata": metadata,
    }


def test_max_tokens_is_clamped_to_the_declared_window_with_the_requests_estimate() -> None:
    counter = FakeCounter(tokens=1)  # never asked: the request's own estimate is used
    hook = transformer(RULES, counter)
    kwargs = deployment_kwargs(64000, {"max_input_tokens": 200_000}, {INPUT_TOKENS_ESTIMATE: 150_000})
    out = asyncio.run(hook.async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out is not None and out["max_tokens"] == 50_000
    assert counter.calls == []
    [record] = kwargs["litellm_metadata"]["litellm_plugins_transformer"]
    assert any(
        "max_tokens 64000->50000" in change and "max_input_tokens 200000" in change
        for change in record["changes"]
    )


def test_the_clamp_counts_once_when_no_estimate_was_made_and_leaves_a_fitting_request() -> None:
    counter = FakeCounter(tokens=190_000)
    hook = transformer(RULES, counter)
    long_turn = {"role": "user", "content": "word " * 30_000}
    kwargs = deployment_kwargs(64000, {"max_input_tokens": 200_000}, {"model_group": "glm"})
    kwargs["messages"] = [*kwargs["messages"], long_turn]
    out = asyncio.run(hook.async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out is not None and out["max_tokens"] == 10_000
    assert counter.calls == [("glm", "anthropic")]
    small = deployment_kwargs(1000, {"max_input_tokens": 200_000}, {})
    assert asyncio.run(hook.async_pre_call_deployment_hook(small, CallTypes.anthropic_messages)) is None
    assert len(counter.calls) == 1  # a small request is not counted
