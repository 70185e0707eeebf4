"""The pure rules behind issue 13's second half: client overrides, beta flags, client errors,
one-line logs, internals in error texts, and the shipped bound on how long a client can wait."""

from __future__ import annotations

import io
import logging

import httpx
import litellm
import pytest
import yaml

from litellm_plugins.core.log_safety import MAX_MESSAGE_CHARS, SafeLogFilter, single_line
from litellm_plugins.guards.anthropic_headers import (
    KNOWN_BETAS,
    extra_betas_setting,
    filter_anthropic_headers,
    known_betas,
)
from litellm_plugins.guards.client_errors import is_client_error
from litellm_plugins.guards.client_overrides import DROPPED_FIELDS, OperatorLimits, limit_client_overrides
from litellm_plugins.guards.internals_filter import is_master, rewrite_error, scrub_internals
from tests.harness import REPO_ROOT

LIMITS = OperatorLimits(num_retries=1, timeout=90.0)


# -- client overrides ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("asked", "kept"),
    [(20, 1), ("20", 1), (1, 1), (0, 0), (-3, None), ("many", None), (True, None)],
)
def test_num_retries_is_capped_at_the_operators(asked: object, kept: object) -> None:
    out, changed = limit_client_overrides({"model": "m", "num_retries": asked}, LIMITS)
    assert out.get("num_retries") == kept
    assert ("num_retries" in changed) == (kept != asked)


@pytest.mark.parametrize("name", ["timeout", "request_timeout", "stream_timeout"])
def test_timeouts_are_capped_and_nonsense_dropped(name: str) -> None:
    assert limit_client_overrides({name: 300}, LIMITS)[0][name] == 90.0
    assert limit_client_overrides({name: "5"}, LIMITS)[0][name] == "5"  # shorter is the client's choice
    assert name not in limit_client_overrides({name: 0}, LIMITS)[0]
    assert name not in limit_client_overrides({name: float("inf")}, LIMITS)[0]


def test_routing_and_mock_controls_are_dropped() -> None:
    request = {"model": "m", "messages": [], **{name: "x" for name in DROPPED_FIELDS}}
    out, changed = limit_client_overrides(request, LIMITS)
    assert out == {"model": "m", "messages": []}
    assert set(changed) == DROPPED_FIELDS
    assert {
        "fallbacks",
        "max_retries",
        "mock_testing_fallbacks",
        "router_settings_override",
    } <= DROPPED_FIELDS


def test_asking_for_no_fallbacks_is_allowed_anything_else_dropped() -> None:
    assert limit_client_overrides({"disable_fallbacks": True}, LIMITS)[0] == {"disable_fallbacks": True}
    assert limit_client_overrides({"disable_fallbacks": "no"}, LIMITS)[0] == {}


def test_a_request_without_overrides_is_unchanged() -> None:
    request = {"model": "m", "max_tokens": 5, "metadata": {"user_id": "u"}}
    assert limit_client_overrides(request, LIMITS) == (request, [])


# -- anthropic-* headers to third-party bases ---------------------------------------------------
def test_only_known_betas_are_kept() -> None:
    assert known_betas("interleaved-thinking-2025-05-14, probe-1, oauth-2025-04-20", KNOWN_BETAS) == (
        "interleaved-thinking-2025-05-14"
    )
    assert known_betas("probe-1", KNOWN_BETAS) is None
    assert "oauth-2025-04-20" not in KNOWN_BETAS


def test_every_header_container_is_filtered() -> None:
    request = {
        "model": "anthropic/glm-4.6",
        "headers": {"anthropic-beta": "probe-1", "x-trace": "t"},
        "extra_headers": {"Anthropic-Version": "2023-06-01", "anthropic-dangerous-thing": "1"},
        "provider_specific_header": {
            "custom_llm_provider": "anthropic",
            "extra_headers": {"anthropic-beta": "context-1m-2025-08-07,probe-2"},
        },
    }
    out, removed = filter_anthropic_headers(request)
    assert out["headers"] == {"x-trace": "t"}
    assert out["extra_headers"] == {"Anthropic-Version": "2023-06-01"}
    assert out["provider_specific_header"]["extra_headers"] == {"anthropic-beta": "context-1m-2025-08-07"}
    assert removed == 3
    assert request["headers"] == {"anthropic-beta": "probe-1", "x-trace": "t"}  # not mutated


def test_the_operator_can_add_flags() -> None:
    out, _ = filter_anthropic_headers({"headers": {"anthropic-beta": "vendor-flag-1"}}, ["vendor-flag-1"])
    assert out["headers"] == {"anthropic-beta": "vendor-flag-1"}
    assert extra_betas_setting({"third_party_anthropic_betas": ["vendor-flag-1"]}) == ("vendor-flag-1",)
    with pytest.raises(ValueError, match="third_party_anthropic_betas"):
        extra_betas_setting({"third_party_anthropic_betas": "vendor-flag-1"})


# -- the client's own mistakes ------------------------------------------------------------------
def _error(klass: type[Exception], **extra: object) -> Exception:
    return klass(message="m", model="x", llm_provider="anthropic", **extra)


def test_client_errors_do_not_fall_back_provider_failures_do() -> None:
    assert is_client_error(_error(litellm.BadRequestError))
    assert is_client_error(_error(litellm.NotFoundError))
    refused = httpx.Response(422, request=httpx.Request("POST", "https://upstream.invalid"))
    assert is_client_error(
        litellm.UnprocessableEntityError(message="m", model="x", llm_provider="openai", response=refused)
    )
    too_large = _error(litellm.BadRequestError)
    too_large.status_code = 413
    assert is_client_error(too_large)
    assert not is_client_error(_error(litellm.UnsupportedParamsError))
    assert not is_client_error(_error(litellm.ContextWindowExceededError))
    assert not is_client_error(_error(litellm.ContentPolicyViolationError))
    assert not is_client_error(_error(litellm.RateLimitError))
    assert not is_client_error(_error(litellm.InternalServerError))
    assert not is_client_error(litellm.Timeout(message="m", model="x", llm_provider="anthropic"))


# -- one record, one line -----------------------------------------------------------------------
def test_control_characters_are_escaped_and_length_capped() -> None:
    assert single_line("a\r\nFAKE\x00b\x1b[31m") == "a\\r\\nFAKE\\x00b\\x1b[31m"
    long = single_line("A" * (MAX_MESSAGE_CHARS * 3) + "the error at the end")
    assert len(long) < MAX_MESSAGE_CHARS + 100 and "characters cut]" in long
    assert long.endswith("the error at the end")  # the middle goes, the cause stays


def test_a_multi_line_message_keeps_its_lines_indented() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SafeLogFilter())
    log = logging.getLogger("tests.hardening.block")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error(
            "Traceback (most recent call last):\n  File x\nSettingsError: set PROXY_STATIC_TOKEN\r\nFORGED"
        )
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "Traceback (most recent call last):",
        "    |   File x",
        "    | SettingsError: set PROXY_STATIC_TOKEN",
        "    | FORGED",
    ]


def test_the_filter_keeps_a_record_on_one_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SafeLogFilter())
    log = logging.getLogger("tests.hardening.safe")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("model %s", "m\nFORGED line")
        try:
            raise ValueError("bad\nFORGED from an exception")
        except ValueError:
            log.exception("failed for %r", "x")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "model m\\nFORGED line"  # an argument's line break is escaped
    assert not any(line.startswith("FORGED") for line in lines)
    assert lines[2].startswith("Traceback") and all(line.startswith("    | ") for line in lines[3:]), lines


def test_argument_formatters_keep_their_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "f", 1, '%s - "%s %s"', ("1.2.3.4", "GET", "/a\nB"), None
    )
    SafeLogFilter().filter(record)
    assert isinstance(record.args, tuple) and record.args[2] == "/a\\nB"


# -- internals in error texts -------------------------------------------------------------------
LITELLM_TIMEOUT = (
    "litellm.Timeout: APITimeoutError - Request timed out. - timeout value=3.0, time taken=3.0 "
    "seconds\n\nDeployment Info: request_timeout: None\ntimeout: None\n\nLiteLLM: model group 'stall' "
    "failed with the error above and no fallback model group was found for it. Fallbacks are configured "
    "for: claude, third-party."
)


def test_internals_are_scrubbed_from_error_texts() -> None:
    cleaned = scrub_internals(LITELLM_TIMEOUT + " at http://10.0.0.5:8080/v1 in /srv/app/site-packages/x.py")
    assert cleaned.startswith("litellm.Timeout: APITimeoutError - Request timed out.")
    for internal in ("timeout value", "Deployment Info", "allbacks", "10.0.0.5", "site-packages"):
        assert internal not in cleaned


def test_timeouts_get_the_timeout_type_in_both_shapes() -> None:
    chat = rewrite_error(408, b'{"error": {"message": "timed out", "type": "invalid_request_error"}}', False)
    assert chat is not None and b'"type": "timeout_error"' in chat
    anthropic = rewrite_error(408, b'{"type": "error", "error": {"type": "api_error", "message": "t"}}', True)
    assert anthropic is not None and b'"type": "timeout_error"' in anthropic
    assert (
        rewrite_error(400, b'{"error": {"message": "plain", "type": "invalid_request_error"}}', True) is None
    )


def test_only_the_master_key_sees_internals() -> None:
    assert is_master([(b"authorization", b"Bearer sk-master")], "sk-master")
    assert is_master([(b"x-litellm-api-key", b"sk-master")], "sk-master")
    assert not is_master([(b"x-litellm-api-key", b"client-token")], "sk-master")
    assert not is_master([(b"x-litellm-api-key", b"")], None)


# -- the shipped timeout bound ------------------------------------------------------------------
def test_the_shipped_config_bounds_the_total_wait_under_claude_codes_limit() -> None:
    config = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())
    timeout = config["litellm_settings"]["request_timeout"]
    router = config["router_settings"]
    groups = router["max_fallbacks"] + 1
    attempts = router["num_retries"] + 1
    assert groups * attempts * timeout <= 600  # Claude Code's own request timeout (API_TIMEOUT_MS)
    assert router["retry_policy"]["TimeoutErrorRetries"] == 0
    assert groups * timeout <= 300  # a hung upstream
    callbacks = config["litellm_settings"]["callbacks"]
    assert callbacks.index("litellm_plugins.hooks.upstream_guard") < callbacks.index(
        "litellm_plugins.hooks.thinking_stripper"
    )


# -- a chat stream the upstream did not finish --------------------------------------------------
class _Wrapper:
    """The two attributes of LiteLLM's CustomStreamWrapper the guard reads."""

    def __init__(self, received: str | None, intermittent: str | None = None) -> None:
        self.received_finish_reason = received
        self.intermittent_finish_reason = intermittent


class _Boundary:
    __slots__ = ("_source",)

    def __init__(self, source: object) -> None:
        self._source = source


class _RouterWrapper(_Wrapper):
    """The router's fallback wrapper: its own finish state is never set; it reads a generator."""

    def __init__(self, inner: object) -> None:
        super().__init__(None)

        async def stream_with_fallbacks():
            model_response = inner
            yield model_response

        self._async_generator = stream_with_fallbacks()


def test_the_attempts_own_finish_state_is_found_through_litellms_layers() -> None:
    import asyncio

    from litellm_plugins.guards.upstream_guard import upstream_finished

    assert upstream_finished(_Wrapper("stop")) is True
    assert upstream_finished(_Wrapper(None, "length")) is True
    assert upstream_finished(_Wrapper(None)) is False
    for inner, expected in ((_Wrapper("stop"), True), (_Wrapper(None), False)):
        router = _RouterWrapper(inner)
        asyncio.run(router._async_generator.__anext__())  # suspended inside, as while streaming
        assert upstream_finished(_Boundary(router)) is expected
    assert upstream_finished(object()) is None  # another layout: not judged
    assert upstream_finished(_Boundary(_RouterWrapper(_Wrapper(None)))) is None  # generator not started
