"""Unit tests for litellm_plugins.core.deployment: the profile built from a deployment's kwargs, and
whether it is Anthropic's own API."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from litellm_plugins.core.deployment import (
    DeploymentProfile,
    is_anthropic_api,
    parse_anthropic_hosts,
    profile_from_kwargs,
    provider_of,
)
from litellm_plugins.core.settings import SettingsError, parse_settings


def on_anthropic_api(profile: DeploymentProfile) -> bool:
    return profile.speaks_anthropic and is_anthropic_api(profile.api_base)


@pytest.mark.parametrize(
    ("model", "custom_llm_provider", "provider"),
    [
        ("openai/deepseek-chat", "openai", "openai"),
        ("openai/deepseek-chat", None, "openai"),
        ("anthropic/claude-sonnet-4-5", None, "anthropic"),
        ("gemini/gemini-2.5-pro", None, "gemini"),
        ("deepseek-chat", None, "openai"),
        ("claude-sonnet-4-5", "anthropic", "anthropic"),
        ("openai/glm-4.6", "anthropic", "anthropic"),
        ("hosted_vllm/org/model", None, "hosted_vllm"),
        ("", None, "openai"),
        ("openai/x", "", "openai"),
    ],
)
def test_provider_of(model: str, custom_llm_provider: str | None, provider: str) -> None:
    assert provider_of(model, custom_llm_provider) == provider


def test_openai_deployment_defaults() -> None:
    profile = profile_from_kwargs(
        {"model": "openai/deepseek-chat", "custom_llm_provider": "openai", "model_info": {"id": "x"}}
    )
    assert profile == DeploymentProfile(
        model="openai/deepseek-chat",
        provider="openai",
        api_base=None,
        max_output_tokens=None,
        supports_reasoning=False,
        reasoning_input="drop",
        tool_schema="openai",
        tool_schema_drop_keys=frozenset(),
    )
    assert not profile.speaks_anthropic
    assert not on_anthropic_api(profile)


def test_anthropic_deployment_defaults() -> None:
    profile = profile_from_kwargs(
        {"model": "anthropic/claude-sonnet-4-5", "custom_llm_provider": "anthropic"}
    )
    assert profile.provider == "anthropic"
    assert profile.speaks_anthropic
    assert profile.supports_reasoning is True
    assert profile.reasoning_input == "keep"
    assert profile.tool_schema == "none"
    assert on_anthropic_api(profile)


def test_full_model_info_is_read() -> None:
    profile = profile_from_kwargs(
        {
            "model": "openai/gemini-2.5-pro",
            "custom_llm_provider": "openai",
            "api_base": "https://generativelanguage.googleapis.com/v1beta/openai",
            "model_info": {
                "id": "abc",
                "max_output_tokens": 8192,
                "supports_reasoning": True,
                "reasoning_input": "KEEP",
                "tool_schema": "Gemini",
                "tool_schema_drop_keys": ["pattern", "default"],
            },
        }
    )
    assert profile.api_base == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert profile.max_output_tokens == 8192
    assert profile.supports_reasoning is True
    assert profile.reasoning_input == "keep"
    assert profile.tool_schema == "gemini"
    assert profile.tool_schema_drop_keys == frozenset({"pattern", "default"})


@pytest.mark.parametrize("model_info", [None, {}, "not a mapping", ["max_output_tokens", 1]])
def test_missing_or_malformed_model_info_gives_defaults(model_info: Any) -> None:
    profile = profile_from_kwargs({"model": "openai/x", "model_info": model_info})
    assert profile.max_output_tokens is None
    assert profile.supports_reasoning is False
    assert profile.tool_schema == "openai"


def test_missing_model_is_empty_string() -> None:
    profile = profile_from_kwargs({})
    assert profile.model == ""
    assert profile.provider == "openai"


@pytest.mark.parametrize(
    ("model_info", "expected"),
    [
        ({"max_output_tokens": 8192}, 8192),
        ({"max_output_tokens": "8192"}, 8192),
        ({"max_output_tokens": 8192.0}, 8192),
        ({"max_output_tokens": 0}, None),
        ({"max_output_tokens": -1}, None),
        ({"max_output_tokens": "8k"}, None),
        ({"max_output_tokens": None}, None),
        ({"max_output_tokens": [8192]}, None),
        ({"max_tokens": 4096}, 4096),
        ({"max_output_tokens": 2048, "max_tokens": 4096}, 2048),
        ({"max_output_tokens": None, "max_tokens": 4096}, 4096),
    ],
)
def test_max_output_tokens(model_info: dict[str, Any], expected: int | None) -> None:
    assert profile_from_kwargs({"model": "openai/x", "model_info": model_info}).max_output_tokens == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        (" True ", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("no", False),
        ("0", False),
        ("", False),
        (1, True),
        (0, False),
    ],
)
def test_supports_reasoning_parsing(value: Any, expected: bool) -> None:
    for provider in ("openai", "anthropic"):
        profile = profile_from_kwargs({"model": f"{provider}/x", "model_info": {"supports_reasoning": value}})
        assert profile.supports_reasoning is expected, provider


@pytest.mark.parametrize(
    ("tool_schema", "provider", "expected"),
    [
        ("openai", "openai", "openai"),
        ("GEMINI", "openai", "gemini"),
        ("none", "openai", "none"),
        ("bogus", "openai", "openai"),
        ("bogus", "anthropic", "openai"),
        (None, "anthropic", "none"),
        ("gemini", "anthropic", "gemini"),
    ],
)
def test_tool_schema_profile(tool_schema: str | None, provider: str, expected: str) -> None:
    profile = profile_from_kwargs({"model": f"{provider}/x", "model_info": {"tool_schema": tool_schema}})
    assert profile.tool_schema == expected


@pytest.mark.parametrize(
    ("drop_keys", "expected"),
    [
        (None, frozenset()),
        ([], frozenset()),
        (["pattern"], frozenset({"pattern"})),
        (("pattern", "default"), frozenset({"pattern", "default"})),
        ([1], frozenset({"1"})),
        # A single string from YAML is one key, not a set of characters.
        ("additionalProperties", frozenset({"additionalProperties"})),
        ("pattern, default", frozenset({"pattern", "default"})),
    ],
)
def test_tool_schema_drop_keys(drop_keys: Any, expected: frozenset[str]) -> None:
    profile = profile_from_kwargs({"model": "openai/x", "model_info": {"tool_schema_drop_keys": drop_keys}})
    assert profile.tool_schema_drop_keys == expected


@pytest.mark.parametrize(
    ("provider", "api_base", "expected"),
    [
        ("anthropic", None, True),
        ("anthropic", "", True),
        ("anthropic", "https://api.anthropic.com", True),
        ("anthropic", "https://API.Anthropic.com/v1/", True),
        ("anthropic", "https://api.z.ai/api/anthropic", False),
        ("anthropic", "https://api.anthropic.com.evil.example/v1", False),
        ("anthropic", "https://api.anthropic.com@evil.example/v1", False),
        ("anthropic", "api.anthropic.com", False),
        ("openai", "https://api.anthropic.com", False),
        ("openai", None, False),
    ],
)
def test_is_anthropic_api(provider: str, api_base: str | None, expected: bool) -> None:
    profile = profile_from_kwargs({"model": f"{provider}/claude", "api_base": api_base})
    assert on_anthropic_api(profile) is expected


def test_non_anthropic_api_anthropic_endpoint_still_speaks_anthropic() -> None:
    profile = profile_from_kwargs(
        {"model": "anthropic/glm-4.6", "api_base": "https://api.z.ai/api/anthropic"}
    )
    assert profile.speaks_anthropic
    assert not on_anthropic_api(profile)


def test_profile_is_frozen() -> None:
    profile = profile_from_kwargs({"model": "openai/x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.max_output_tokens = 1  # type: ignore[misc]


def test_anthropic_api_bases_add_hosts_to_anthropics_own() -> None:
    hosts = parse_anthropic_hosts(parse_settings({"anthropic_api_bases": ["https://Gateway.corp:8443/x"]}))
    assert hosts == frozenset({"api.anthropic.com", "gateway.corp:8443"})
    assert is_anthropic_api("https://gateway.corp:8443/v1", hosts)
    assert not is_anthropic_api("https://gateway.corp/v1", hosts)


@pytest.mark.parametrize("bases", ["https://x.example", ["not a url"]])
def test_bad_anthropic_api_bases_name_the_setting(bases: Any) -> None:
    with pytest.raises(SettingsError, match="litellm_plugins.anthropic_api_bases"):
        parse_anthropic_hosts(parse_settings({"anthropic_api_bases": bases}))


def test_an_undeclared_output_limit_comes_from_the_model_map() -> None:
    asked: list[str] = []

    def known(model: str) -> int | None:
        asked.append(model)
        return 64000 if model == "anthropic/claude-sonnet-4-5" else None

    kwargs = {"model": "anthropic/claude-sonnet-4-5", "model_info": {"id": "x"}}
    assert profile_from_kwargs(kwargs, known).max_output_tokens == 64000
    declared = {"model": "anthropic/claude-sonnet-4-5", "model_info": {"max_output_tokens": 8192}}
    assert profile_from_kwargs(declared, known).max_output_tokens == 8192
    assert profile_from_kwargs({"model": "anthropic/*"}, known).max_output_tokens is None
    assert profile_from_kwargs({"model": "openai/unknown"}, known).max_output_tokens is None
    assert asked == ["anthropic/claude-sonnet-4-5", "openai/unknown"]  # never for a wildcard


def test_litellm_model_map_knows_claude_and_not_a_local_model() -> None:
    assert profile_from_kwargs({"model": "anthropic/claude-sonnet-4-5"}).max_output_tokens == 64000
    assert profile_from_kwargs({"model": "openai/qwen2.5-coder:14b"}).max_output_tokens is None
