"""The count_tokens route's pure rules: which group, and who counts
(litellm_plugins.transformer.count_tokens)."""

from __future__ import annotations

from litellm_plugins.rotator.hook import client_credential
from litellm_plugins.transformer.count_tokens import (
    CountPlan,
    anthropic_request_headers,
    count_body,
    plan_count,
    resolve_group,
    wildcard_model,
)

GROUPS = ["anthropic", "glm", "openai"]
ALIASES = (("claude-*haiku*", "glm"), ("claude-*", "anthropic"))


def anthropic_api(api_base: str | None) -> bool:
    return api_base in (None, "https://api.anthropic.com")


def test_group_is_resolved_as_for_messages() -> None:
    assert resolve_group("glm", GROUPS, ALIASES) == "glm"  # an exact group wins over patterns
    assert resolve_group("claude-haiku-4-5", GROUPS, ALIASES) == "glm"
    assert resolve_group("claude-sonnet-4-5", GROUPS, ALIASES) == "anthropic"
    assert resolve_group("gpt-9", GROUPS, ALIASES) is None


def test_claude_router_ids_are_decoded_before_aliases() -> None:
    # "claude-*" would otherwise send LiteLLM's picker id for glm to the anthropic group.
    router_id = "claude-router-" + b"glm".hex()

    def decode(view_id: str, groups: list[str]) -> str | None:
        return "glm" if view_id == router_id and "glm" in groups else None

    assert resolve_group(router_id, GROUPS, ALIASES, decode) == "glm"
    assert resolve_group(router_id, GROUPS, ALIASES) == "anthropic"


def test_plans() -> None:
    pool = {"litellm_params": {"model": "anthropic/*"}}
    glm = {"litellm_params": {"model": "anthropic/glm-4.6", "api_base": "https://api.z.ai/api/anthropic"}}
    chat = {"litellm_params": {"model": "openai/gpt-4.1"}}
    assert plan_count("claude-sonnet-4-5", "anthropic", pool, anthropic_api) == CountPlan(
        "anthropic", "anthropic_api", upstream_model="claude-sonnet-4-5"
    )
    assert plan_count("glm", "glm", glm, anthropic_api).how == "provider"
    assert plan_count("openai", "openai", chat, anthropic_api).how == "local"
    assert plan_count("gpt-9", None, None, anthropic_api).how == "local"
    # A wildcard deployment asked for by its group name has no model id to count with.
    assert plan_count("anthropic", "anthropic", pool, anthropic_api).how == "local"


def test_wildcard_model() -> None:
    assert wildcard_model("anthropic/*", "claude-opus-4-5") == "claude-opus-4-5"
    assert wildcard_model("anthropic/claude-*", "gpt-4") is None
    assert wildcard_model("anthropic/claude-sonnet-4-5", "anthropic") == "claude-sonnet-4-5"


def test_oauth_and_api_key_headers() -> None:
    oauth = anthropic_request_headers("sk-ant-oat01-x", {"anthropic-beta": "tools-2024, oauth-2025-04-20"})
    assert oauth["authorization"] == "Bearer sk-ant-oat01-x"
    assert oauth["anthropic-beta"] == "tools-2024,oauth-2025-04-20"
    assert "x-api-key" not in oauth
    api = anthropic_request_headers("sk-ant-api03-y", {})
    assert api["x-api-key"] == "sk-ant-api03-y"
    assert api["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in api and "authorization" not in api


def test_count_body_keeps_only_what_anthropic_counts() -> None:
    body = {"model": "c", "messages": [1], "system": "s", "max_tokens": 5, "metadata": {}, "stream": True}
    assert count_body(body, "claude-x") == {"model": "claude-x", "messages": [1], "system": "s"}


def test_client_credential_is_only_a_claude_one() -> None:
    assert client_credential({"Authorization": "Bearer sk-ant-oat01-abc"}) == "sk-ant-oat01-abc"
    assert client_credential({"x-api-key": "sk-ant-api03-k"}) == "sk-ant-api03-k"
    assert client_credential({"authorization": "Bearer proxy-token"}) is None
    assert client_credential({"x-litellm-api-key": "sk-ant-oat01-z"}) is None
