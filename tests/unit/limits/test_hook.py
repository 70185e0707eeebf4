from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth

from litellm_plugins.core.settings import PluginSettings, SettingsError
from litellm_plugins.limits.hook import STATE_KEY, ClientLimits, reported_tokens
from litellm_plugins.limits.limiter import Admission, Refusal

CLIENTS = {
    "alice": {"model_groups": ["anthropic", "glm*"], "tokens_per_day": 100},
    "ghost": {"max_concurrent": 1},
}


def configured(clients: Any = CLIENTS, environ: dict[str, str] | None = None) -> ClientLimits:
    plugin = ClientLimits()
    plugin.configure(PluginSettings(raw={"clients": clients}), environ or {}, {"alice", "bob"})
    return plugin


def auth(name: str, admin: bool = False) -> UserAPIKeyAuth:
    return UserAPIKeyAuth(
        user_id=name,
        metadata={"proxy_token_name": name},
        user_role=LitellmUserRoles.PROXY_ADMIN if admin else None,
    )


def test_unknown_names_are_a_startup_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="litellm_plugins.limits.hook")
    plugin = configured()
    assert plugin.limiter is not None
    assert "names ghost, which no proxy token has" in caplog.text


def test_wrong_types_stop_the_startup() -> None:
    with pytest.raises(SettingsError, match="requests_per_minute must be a whole number"):
        configured({"alice": {"requests_per_minute": "sixty"}})


def test_no_clients_no_limiter() -> None:
    assert configured({}).limiter is None


def test_a_requested_group_outside_model_groups_is_a_403_before_routing() -> None:
    plugin = configured()
    data: dict[str, Any] = {"model": "openai", "metadata": {}}
    with pytest.raises(ProxyException) as caught:
        asyncio.run(plugin.async_pre_call_hook(auth("alice"), None, data, "acompletion"))
    assert caught.value.code == "403"
    assert caught.value.type == "permission_error"
    assert "'openai'" in caught.value.message
    allowed: dict[str, Any] = {"model": "glm-4.6", "litellm_metadata": {}}
    asyncio.run(plugin.async_pre_call_hook(auth("alice"), None, allowed, "anthropic_messages"))
    assert allowed["litellm_metadata"][STATE_KEY] == {"client": "alice"}


def test_the_master_key_is_never_limited() -> None:
    plugin = configured()
    data: dict[str, Any] = {"model": "openai", "metadata": {}}
    asyncio.run(plugin.async_pre_call_hook(auth("litellm-master-key", admin=True), None, data, "acompletion"))
    assert STATE_KEY not in data["metadata"]


def test_every_attempt_is_checked_on_the_group_that_serves_it() -> None:
    plugin = configured()
    fallback = {
        "model": "openai/gpt-4o",
        "metadata": {STATE_KEY: {"client": "alice"}, "model_group": "openai"},
    }
    with pytest.raises(litellm.PermissionDeniedError) as caught:
        asyncio.run(plugin.async_pre_call_deployment_hook(fallback, "acompletion"))
    assert caught.value.status_code == 403
    served = {"model": "x", "litellm_metadata": {STATE_KEY: {"client": "alice"}, "model_group": "anthropic"}}
    assert asyncio.run(plugin.async_pre_call_deployment_hook(served, "anthropic_messages")) is None
    assert plugin.limiter is not None
    assert plugin.limiter.refusals.value("alice", "model_groups") == 1


def test_tokens_the_provider_reported_are_counted_after_the_request() -> None:
    plugin = configured()
    assert plugin.limiter is not None
    kwargs = {
        "standard_logging_object": {"prompt_tokens": 70, "completion_tokens": 40, "total_tokens": 110},
        "litellm_params": {"metadata": {STATE_KEY: {"client": "alice"}}},
    }

    async def scenario() -> tuple[Any, Any]:
        assert plugin.limiter is not None
        before = await plugin.limiter.admit("alice")
        await plugin.async_log_success_event(kwargs, None, None, None)
        return before, await plugin.limiter.admit("alice")

    before, after = asyncio.run(scenario())
    assert isinstance(before, Admission)
    assert isinstance(after, Refusal) and after.limit == "tokens_per_day"


def test_reported_tokens() -> None:
    assert reported_tokens({"total_tokens": 12, "prompt_tokens": 10, "completion_tokens": 2}) == 12
    assert reported_tokens({"prompt_tokens": 10, "completion_tokens": 2}) == 12
    assert reported_tokens({"total_tokens": None}) == 0
