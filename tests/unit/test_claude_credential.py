"""The missing-Claude-credential decision and the fixes added to LiteLLM's own credential errors."""

from __future__ import annotations

import logging

import pytest

from litellm_plugins.core import claude_credential as cc
from litellm_plugins.rotator.settings import RotatorSettings

ANTHROPIC = {"model_name": "anthropic", "litellm_params": {"model": "anthropic/*"}}
GLM = {
    "model_name": "glm",
    "litellm_params": {
        "model": "anthropic/glm-4.6",
        "api_base": "https://api.z.ai/api/anthropic",
        "api_key": "k",
    },
}
OPENAI = {"model_name": "openai", "litellm_params": {"model": "openai/gpt-4.1", "api_key": "k"}}


def is_anthropic_api(api_base: object) -> bool:
    return RotatorSettings().is_anthropic_api(api_base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "requested", "may_use_pool", "pool", "sent", "expected"),
    [
        ("passthrough", None, True, 0, False, cc.NO_POOL),
        ("passthrough", None, False, 3, False, cc.NOT_PERMITTED),
        ("passthrough", "passthrough", True, 3, False, cc.ASKED_PASSTHROUGH),
        ("passthrough", None, True, 3, False, cc.POOL_OFF),
        ("passthrough", None, True, 0, True, None),  # the client's own login goes through
        ("rotate", None, True, 3, False, None),  # the pool serves
        ("passthrough", None, True, 0, None, None),  # the auth plugin did not say: LiteLLM decides
    ],
)
def test_reason(
    mode: str, requested: str | None, may_use_pool: bool, pool: int, sent: bool | None, expected: str | None
) -> None:
    assert cc.missing_credential_reason(mode, requested, may_use_pool, pool, sent) == expected


def test_every_message_says_how_to_fix_it_for_this_bundle() -> None:
    for reason in (cc.NO_POOL, cc.NOT_PERMITTED, cc.ASKED_PASSTHROUGH, cc.POOL_OFF):
        message = cc.missing_credential_message(reason)
        assert message.startswith(cc.MISSING_PREFIX)
        assert "/login" in message and "claude setup-token" in message and "ANTHROPIC_API_KEY" not in message
    assert "CLAUDE_OAUTH_TOKENS" in cc.missing_credential_message(cc.NO_POOL)
    assert "x-claude-token-mode: rotate" in cc.missing_credential_message(cc.ASKED_PASSTHROUGH)


def test_only_groups_served_by_anthropic_alone_without_a_key_need_a_claude_credential() -> None:
    assert cc.needs_claude_credential([ANTHROPIC], is_anthropic_api, {})
    assert not cc.needs_claude_credential(
        [ANTHROPIC], is_anthropic_api, {"ANTHROPIC_API_KEY": "sk-ant-api03-x"}
    )
    assert not cc.needs_claude_credential([ANTHROPIC, OPENAI], is_anthropic_api, {})
    assert not cc.needs_claude_credential([GLM], is_anthropic_api, {})
    assert not cc.needs_claude_credential(
        [{"model_name": "a", "litellm_params": {"model": "anthropic/x", "api_key": "k"}}],
        is_anthropic_api,
        {},
    )
    assert not cc.needs_claude_credential([], is_anthropic_api, {})  # unknown group: LiteLLM answers


def test_litellm_credential_errors_get_the_bundle_fix() -> None:
    missing = "litellm.AuthenticationError: Missing Anthropic API Key - ... Please set `ANTHROPIC_API_KEY`"
    assert cc.credential_error_fix(401, missing, "anthropic", "passthrough") == cc.missing_credential_message(
        cc.NO_POOL
    )
    refused = (
        'AnthropicException - {"type":"error","error":{"type":"authentication_error","message":"invalid '
        'x-api-key"}}'
    )
    assert "/login" in (cc.credential_error_fix(401, refused, "anthropic", "passthrough") or "")
    assert "CLAUDE_OAUTH_TOKENS" in (cc.credential_error_fix(401, refused, "anthropic", "rotate") or "")
    assert ".env" in (
        cc.credential_error_fix(401, "OpenAIException - Incorrect API key provided", "openai", None) or ""
    )
    assert cc.credential_error_fix(400, refused, "anthropic", "passthrough") is None
    assert cc.credential_error_fix(401, "something unrelated", "anthropic", "passthrough") is None


def test_the_log_filter_drops_litellm_records_for_errors_already_logged() -> None:
    explained = RuntimeError("x")
    cc.mark_explained(explained)
    record = logging.LogRecord(
        "LiteLLM Proxy", logging.ERROR, "f", 1, "failed - %s", ("id",), (RuntimeError, explained, None)
    )
    assert not cc.ExplainedErrorFilter().filter(record)
    text = logging.LogRecord(
        "LiteLLM Proxy", logging.ERROR, "f", 1, "failed - %s", (cc.MISSING_PREFIX + "...",), None
    )
    assert not cc.ExplainedErrorFilter().filter(text)
    other = logging.LogRecord(
        "LiteLLM Proxy", logging.ERROR, "f", 1, "failed - %s", (RuntimeError("y"),), None
    )
    assert cc.ExplainedErrorFilter().filter(other)
