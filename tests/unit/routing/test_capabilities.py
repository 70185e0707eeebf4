"""Unit tests for litellm_plugins.routing.capabilities: what a group can serve, and the window clamp."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from litellm_plugins.core.deployment import is_anthropic_api
from litellm_plugins.routing.capabilities import (
    group_window,
    input_window,
    refusal_for,
    serves_images,
    serves_web_search,
    window_room,
)
from tests.unit.routing.fixtures import FakeCounter, facts_for

MAP = {
    ("gpt-4.1", "openai"): {"supports_vision": True, "max_input_tokens": 1_047_576},
    ("deepseek-chat", "deepseek"): {"supports_vision": False, "max_input_tokens": 65536},
    ("claude-haiku-4-5-20251001", "anthropic"): {"supports_vision": True, "max_input_tokens": 200_000},
    ("google/gemini-2.5-pro", "openrouter"): {"supports_web_search": True},
}


def model_map(model: str, provider: str | None) -> Mapping[str, Any] | None:
    return MAP.get((model, provider))


def deployment(model: str, api_base: str | None = None, **info: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"model": model}
    if api_base:
        params["api_base"] = api_base
    return {"model_name": "g", "litellm_params": params, "model_info": {"id": "x", **info}}


def refusal(deployments: list[dict[str, Any]], kind: str, tokens: int = 1000, group: str = "g"):
    facts = facts_for(kind, FakeCounter(tokens))
    return asyncio.run(refusal_for(group, deployments, facts, model_map, is_anthropic_api))


def test_images_declared_map_and_unknown() -> None:
    assert not serves_images(deployment("openai/gpt-4.1", supports_vision=False), None, model_map)
    assert serves_images(deployment("deepseek/deepseek-chat", supports_vision=True), None, model_map)
    assert not serves_images(deployment("deepseek/deepseek-chat"), None, model_map)  # the map says no
    assert serves_images(deployment("openai/some-local-model"), None, model_map)  # unknown: can
    # a wildcard deployment is looked up with the id the client asked for
    assert serves_images(deployment("anthropic/*"), "claude-haiku-4-5-20251001", model_map)


def test_web_search_anthropic_api_declared_and_map() -> None:
    assert serves_web_search(deployment("anthropic/*"), "claude-opus-5-5", model_map, is_anthropic_api)
    glm = deployment("anthropic/glm-4.6", "https://api.z.ai/api/anthropic")
    assert not serves_web_search(glm, None, model_map, is_anthropic_api)
    declared = deployment("anthropic/glm-4.6", "https://api.z.ai/api/anthropic", supports_web_search=True)
    assert serves_web_search(declared, None, model_map, is_anthropic_api)
    assert serves_web_search(
        deployment("openrouter/google/gemini-2.5-pro"), None, model_map, is_anthropic_api
    )
    off = deployment("anthropic/*", supports_web_search=False)
    assert not serves_web_search(off, "claude-opus-5-5", model_map, is_anthropic_api)


def test_windows_declared_map_and_the_group_takes_the_largest() -> None:
    assert input_window(deployment("openai/x", max_input_tokens=32000), None, model_map) == 32000
    assert input_window(deployment("deepseek/deepseek-chat"), None, model_map) == 65536
    assert input_window(deployment("openai/unknown"), None, model_map) is None
    both = [deployment("openai/x", max_input_tokens=32000), deployment("openai/y", max_input_tokens=128000)]
    assert group_window(both, None, model_map) == 128000
    assert group_window([*both, deployment("openai/unknown")], None, model_map) is None


def test_an_image_for_a_group_without_vision_is_refused_with_the_setting() -> None:
    found = refusal([deployment("openai/x", supports_vision=False)], "image", group="deepseek")
    assert found is not None and found.need == "images"
    assert "'deepseek' cannot read images" in found.message
    assert "when: {images: true}" in found.message and "model_info.supports_vision" in found.message
    assert (
        refusal([deployment("openai/x", supports_vision=False), deployment("openai/gpt-4.1")], "image")
        is None
    )


def test_a_web_search_for_a_provider_without_it_is_refused() -> None:
    found = refusal(
        [deployment("anthropic/glm-4.6", "https://api.z.ai/api/anthropic")], "web_search", group="glm"
    )
    assert found is not None and found.need == "web_search"
    assert "'web_search_20250305'" in found.message and 'server_tool: "web_search*"' in found.message
    assert refusal([deployment("anthropic/*")], "web_search") is None


def test_an_overlong_prompt_is_refused_in_anthropics_wording() -> None:
    found = refusal([deployment("openai/x", max_input_tokens=20000)], "thinking", tokens=25000, group="small")
    assert found is not None and found.need == "input_tokens"
    assert found.message.startswith("prompt is too long: 25000 tokens > 20000 maximum (model group 'small'")
    assert "model_info.max_input_tokens" in found.message and "input_tokens_above" in found.message
    assert refusal([deployment("openai/x", max_input_tokens=20000)], "thinking", tokens=19000) is None


def test_a_context_1m_beta_trusts_only_a_declared_window() -> None:
    # A Claude model on another API (LiteLLM's map: 200k) versus Anthropic's own API.
    gateway = [deployment("anthropic/*", "https://claude-gateway.example")]
    facts = facts_for("thinking", FakeCounter(250_000), model="claude-haiku-4-5-20251001")
    facts.size_bound = 10**6  # as long as a 250k-token prompt
    found = asyncio.run(refusal_for("gw", gateway, facts, model_map, is_anthropic_api))
    assert found is not None and "250000 tokens > 200000 maximum" in found.message  # the map's window
    wide = facts_for("thinking", FakeCounter(250_000), model="claude-haiku-4-5-20251001")
    wide._headers["anthropic-beta"] = "claude-code-20250219,context-1m-2025-08-07"
    wide.size_bound = 10**6
    assert asyncio.run(refusal_for("gw", gateway, wide, model_map, is_anthropic_api)) is None


def test_anthropics_own_api_is_checked_against_a_declared_window_only() -> None:
    counter = FakeCounter(250_000)
    facts = facts_for("thinking", counter, model="claude-haiku-4-5-20251001")
    facts.size_bound = 10**6
    assert (
        asyncio.run(refusal_for("anthropic", [deployment("anthropic/*")], facts, model_map, is_anthropic_api))
        is None
    )
    assert counter.calls == []  # nothing to compare with: not counted
    declared = [deployment("anthropic/*", max_input_tokens=100_000)]
    found = asyncio.run(refusal_for("anthropic", declared, facts, model_map, is_anthropic_api))
    assert found is not None and "250000 tokens > 100000 maximum" in found.message


def test_no_deployments_is_left_to_litellm() -> None:
    assert refusal([], "image") is None


@pytest.mark.parametrize(
    ("max_tokens", "estimate", "window", "expected"),
    [
        (64000, 150_000, 200_000, 50_000),
        (32000, 150_000, 200_000, None),  # fits
        (64000, None, 200_000, None),  # not counted
        (64000, 150_000, None, None),  # no declared window
        (64000, 210_000, 200_000, None),  # no room at all: the provider refuses
        (True, 1, 10, None),
    ],
)
def test_window_room(max_tokens: Any, estimate: int | None, window: int | None, expected: int | None) -> None:
    assert window_room(max_tokens, estimate, window) == expected
