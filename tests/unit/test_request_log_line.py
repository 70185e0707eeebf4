"""The request log's line builder (pure): fields, quoting of client-supplied strings, and how
LiteLLM's logging payloads and the request's metadata become one outcome."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from litellm_plugins.request_log.hook import STATE_KEY, RequestLog
from litellm_plugins.request_log.line import (
    MAX_FIELD_CHARS,
    Attempt,
    RequestOutcome,
    attempt_from_logging_object,
    client_name,
    failure_outcome,
    format_line,
    quote,
    success_outcome,
)

SUCCESS_PAYLOAD: dict[str, Any] = {
    "litellm_call_id": "call-1",
    "status": "success",
    "model": "openai/deepseek-chat",
    "model_group": "default",
    "prompt_tokens": 42,
    "completion_tokens": 9,
    "stream": True,
    "startTime": 100.0,
    "endTime": 100.5,
    "metadata": {
        "user_api_key_auth_metadata": {"proxy_token_name": "alice", "token_fingerprint": "fp:1234abcd"}
    },
}
FAILURE_PAYLOAD: dict[str, Any] = {
    "status": "failure",
    "model": "openai/deepseek-chat",
    "model_group": "flaky",
    "error_information": {
        "error_class": "InternalServerError",
        "error_code": "500",
        "normalized_error": None,
    },
}


def test_quote_escapes_line_breaks_and_control_characters() -> None:
    assert quote("a\r\nb\x1b[31m\u2028c") == repr("a\r\nb\x1b[31m\u2028c")
    assert "\n" not in quote("x\ny") and "\r" not in quote("x\ry") and "\u2028" not in quote("x\u2028y")
    assert quote(None) == "-"


def test_quote_caps_long_values_and_says_how_much_was_cut() -> None:
    quoted = quote("m" * (MAX_FIELD_CHARS + 30))
    assert quoted == repr("m" * MAX_FIELD_CHARS) + "...(+30 chars)"


def test_line_has_every_field_in_order() -> None:
    line = format_line(
        RequestOutcome(
            client="alice",
            requested_model="claude-sonnet-4-5",
            group="default",
            deployment="openai/deepseek-chat",
            status=200,
            input_tokens=42,
            output_tokens=9,
            latency_ms=431.6,
            stream=False,
            call_id="call-1",
        )
    )
    assert line == (
        "request: client='alice' model='claude-sonnet-4-5' group='default' deployment='openai/deepseek-chat' "
        "status=200 tokens_in=42 tokens_out=9 latency_ms=432 stream=false route=- call_id='call-1'"
    )


def test_failed_attempts_in_other_groups_are_fallbacks_in_the_same_group_retries() -> None:
    line = format_line(
        RequestOutcome(
            client="alice",
            requested_model="claude-sonnet-4-5",
            group="glm",
            deployment="anthropic/glm-4.6",
            status=200,
            failed_attempts=(
                Attempt("anthropic", "anthropic/claude-sonnet-4-5", "RateLimitError 429"),
                Attempt("glm", "anthropic/glm-4.6", "InternalServerError 500"),
            ),
            failovers=("claude fp:1234abcd HTTP 429",),
        )
    )
    assert (
        "fallbacks=[group='anthropic' deployment='anthropic/claude-sonnet-4-5' reason='RateLimitError 429']"
        in line
    )
    assert "retries=[group='glm' deployment='anthropic/glm-4.6' reason='InternalServerError 500']" in line
    assert "failovers=['claude fp:1234abcd HTTP 429']" in line
    assert "tokens_in=- tokens_out=- latency_ms=- stream=-" in line


def test_a_forged_model_id_stays_on_one_line() -> None:
    forged = "claude-x\r\n12:00:00 - litellm_plugins:INFO: request: client='root' status=200"
    line = format_line(
        RequestOutcome(client="alice", requested_model=forged, group="g", deployment="d", status=200)
    )
    assert "\n" not in line and "\r" not in line
    assert line.startswith("request: client='alice' model=")


def test_client_is_the_proxy_token_name_else_litellm_alias() -> None:
    assert (
        client_name({"user_api_key_auth_metadata": {"proxy_token_name": "ci"}, "user_api_key_alias": "x"})
        == "ci"
    )
    assert client_name(None, {"user_api_key_metadata": {"proxy_token_name": "bob"}}) == "bob"
    assert client_name({"user_api_key_alias": "team-key"}) == "team-key"
    assert client_name({}, None) is None


def test_failed_attempt_from_litellm_failure_payload() -> None:
    assert attempt_from_logging_object(FAILURE_PAYLOAD) == Attempt(
        "flaky", "openai/deepseek-chat", "InternalServerError 500"
    )
    assert attempt_from_logging_object({}) == Attempt(None, None, None)


def test_success_outcome_reads_the_model_before_aliases_and_the_token_counts() -> None:
    metadata = {"litellm_plugins_requested_model": "claude-sonnet-4-5", "original_model_group": "flaky"}
    outcome = success_outcome(SUCCESS_PAYLOAD, metadata, [Attempt("flaky", "openai/x", "boom")], 12.0)
    assert (outcome.client, outcome.requested_model, outcome.group, outcome.deployment) == (
        "alice",
        "claude-sonnet-4-5",
        "default",
        "openai/deepseek-chat",
    )
    assert (outcome.status, outcome.input_tokens, outcome.output_tokens, outcome.stream) == (200, 42, 9, True)
    assert outcome.failed_attempts == (Attempt("flaky", "openai/x", "boom"),)
    # Without an alias the model asked for is the group the request started in.
    assert (
        success_outcome(SUCCESS_PAYLOAD, {"original_model_group": "flaky"}, [], None).requested_model
        == "flaky"
    )
    assert success_outcome(SUCCESS_PAYLOAD, None, [], None).requested_model == "default"


def test_the_routing_rule_that_chose_the_group_is_on_the_line() -> None:
    route = {"rule": "background", "group": "glm-fast", "requested_model": "claude-haiku-4-5"}
    metadata = {"litellm_plugins_route": route, "litellm_plugins_requested_model": "claude-haiku-4-5"}
    outcome = success_outcome(SUCCESS_PAYLOAD, metadata, [], None)
    assert outcome.route == "background"
    assert " stream=true route='background' call_id=" in format_line(outcome)
    failed = failure_outcome({"model": "glm-fast"}, metadata, UpstreamDown(), [], None)
    assert failed.route == "background"
    assert success_outcome(SUCCESS_PAYLOAD, {"litellm_plugins_route": "junk"}, [], None).route is None


class UpstreamDown(Exception):
    status_code = 502


def test_failure_outcome_names_the_last_attempt_and_the_status_the_client_got() -> None:
    attempts = [
        Attempt("flaky", "openai/a", "InternalServerError 500"),
        Attempt("default", "openai/b", "Timeout 408"),
    ]
    outcome = failure_outcome(
        {"model": "flaky", "litellm_call_id": "call-2"},
        {"user_api_key_auth_metadata": {"proxy_token_name": "alice"}},
        UpstreamDown("no"),
        attempts,
        5.0,
    )
    assert (outcome.group, outcome.deployment, outcome.status, outcome.error) == (
        "default",
        "openai/b",
        502,
        "UpstreamDown",
    )
    assert outcome.failed_attempts == (attempts[0],)
    assert (outcome.client, outcome.requested_model, outcome.call_id) == ("alice", "flaky", "call-2")


def test_failure_outcome_without_attempts_uses_the_request_and_a_proxy_exception_code() -> None:
    class Refused(Exception):
        code = "401"

    outcome = failure_outcome({"model": "glm"}, None, Refused(), [], None, {"proxy_token_name": "bob"})
    assert (outcome.group, outcome.deployment, outcome.status, outcome.client) == ("glm", None, 401, "bob")


def _success_kwargs(metadata: dict[str, Any]) -> dict[str, Any]:
    return {"standard_logging_object": SUCCESS_PAYLOAD, "litellm_params": {"metadata": metadata}}


def test_hook_logs_one_line_per_request_with_earlier_failed_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = iter([10.0, 10.25])
    plugin = RequestLog(clock=lambda: next(ticks))
    data: dict[str, Any] = {"model": "flaky", "litellm_metadata": {}}

    async def scenario() -> None:
        await plugin.async_pre_call_hook(None, None, data, "anthropic_messages")
        metadata = data["litellm_metadata"]
        await plugin.async_log_failure_event(
            {"standard_logging_object": FAILURE_PAYLOAD, "litellm_params": {"metadata": metadata}},
            None,
            None,
            None,
        )
        await plugin.async_log_success_event(_success_kwargs(metadata), None, None, None)
        await plugin.async_log_success_event(
            _success_kwargs(metadata), None, None, None
        )  # a repeat is ignored

    with caplog.at_level(logging.INFO, logger="litellm_plugins.request_log"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "litellm_plugins.request_log"]
    assert len(lines) == 1
    assert "group='default'" in lines[0] and "latency_ms=250" in lines[0]
    assert (
        "fallbacks=[group='flaky' deployment='openai/deepseek-chat' reason='InternalServerError 500']"
        in lines[0]
    )
    assert isinstance(data["litellm_metadata"][STATE_KEY]["attempts"][0], dict)  # plain data in metadata


def test_hook_logs_a_failed_request_once(caplog: pytest.LogCaptureFixture) -> None:
    plugin = RequestLog(clock=lambda: 1.0)
    data: dict[str, Any] = {"model": "dead", "metadata": {}, "litellm_call_id": "c"}

    async def scenario() -> None:
        await plugin.async_pre_call_hook(None, None, data, "acompletion")
        await plugin.async_post_call_failure_hook(data, UpstreamDown(), None)
        await plugin.async_post_call_failure_hook(data, UpstreamDown(), None)

    with caplog.at_level(logging.INFO, logger="litellm_plugins.request_log"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "litellm_plugins.request_log"]
    assert lines == [
        (
            "request: client=- model='dead' group='dead' deployment=- status=502 tokens_in=- tokens_out=- "
            "latency_ms=0 stream=- route=- error='UpstreamDown' call_id='c'"
        )
    ]
