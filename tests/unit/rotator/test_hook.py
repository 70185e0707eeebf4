"""Unit tests for the rotator's pure rules: the requested mode, the session, the mode decision."""

from __future__ import annotations

import json
from typing import Any

import pytest

from litellm_plugins.rotator.hook import MODE_HEADER, SESSION_HEADER, decide_mode, requested_mode, session_of
from litellm_plugins.rotator.settings import RotatorSettings

SESSION = "3f1c2a9e-5b7d-4c8e-9a61-0d2e4f6b8c10"
DEVICE = "a" * 64


def claude_code_user_id(session: Any = SESSION, **extra: Any) -> str:
    """`metadata.user_id` as Claude Code 2.x sends it: a JSON document."""
    return json.dumps({"device_id": DEVICE, "account_uuid": "", "session_id": session, **extra})


# -- requested_mode ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "mode"),
    [
        ({}, None),
        ({MODE_HEADER: "rotate"}, "rotate"),
        ({"X-Claude-Token-Mode": " Passthrough "}, "passthrough"),
        ({"X-CLAUDE-TOKEN-MODE": "ROTATE"}, "rotate"),
        ({MODE_HEADER: "sideways"}, "sideways"),  # decide_mode refuses it, with the header named
        ({MODE_HEADER: ""}, None),
        ({MODE_HEADER: "   "}, None),
        ({MODE_HEADER: None}, None),
        ({MODE_HEADER: ["rotate"]}, None),
        ({"x-claude-token-mode-extra": "rotate"}, None),
    ],
)
def test_requested_mode_reads_the_header_in_any_case(headers: dict[str, Any], mode: str | None) -> None:
    assert requested_mode(headers) == mode


# -- session_of -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [SESSION_HEADER, "X-Claude-Code-Session-Id", "X-CLAUDE-CODE-SESSION-ID"])
def test_session_comes_from_the_session_header_in_any_case(name: str) -> None:
    assert session_of({name: SESSION}, None) == SESSION
    assert session_of({name: f"  {SESSION}\n"}, {}) == SESSION


def test_session_header_wins_over_metadata() -> None:
    metadata = {"user_id": claude_code_user_id("other-session")}
    assert session_of({SESSION_HEADER: SESSION}, metadata) == SESSION


def test_session_header_is_bounded_in_length() -> None:
    assert session_of({SESSION_HEADER: "s" * 5000}, None) == "s" * 200


def test_blank_session_header_falls_back_to_metadata() -> None:
    assert session_of({SESSION_HEADER: "  "}, {"user_id": claude_code_user_id()}) == SESSION


def test_session_comes_from_the_json_user_id() -> None:
    assert session_of({}, {"user_id": claude_code_user_id()}) == SESSION
    assert (
        session_of({"user-agent": "claude-cli/2.0"}, {"user_id": claude_code_user_id(extra="x")}) == SESSION
    )


def test_session_comes_from_the_older_user_id_form() -> None:
    user_id = f"user_{DEVICE}_account__session_{SESSION}"
    assert session_of({}, {"user_id": user_id}) == SESSION
    account = "0b6f2c1e-1111-2222-3333-444455556666"
    assert session_of({}, {"user_id": f"user_{DEVICE}_account_{account}_session_{SESSION}"}) == SESSION


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "user_x_account__session_y",  # metadata itself must be a mapping
        [],
        {},
        {"user_id": None},
        {"user_id": ""},
        {"user_id": 42},
        {"user_id": "alice@example.com"},
        {"user_id": f"user_{DEVICE}_account__session_"},
        {"user_id": "{not json"},
        {"user_id": "[1, 2]"},
        {"user_id": claude_code_user_id("")},
        {"user_id": claude_code_user_id(None)},
        {"user_id": claude_code_user_id(7)},
        {"user_id": json.dumps({"device_id": DEVICE})},
    ],
)
def test_no_session_without_a_recognisable_one(metadata: Any) -> None:
    assert session_of({}, metadata) is None
    assert session_of({"x-other": SESSION}, metadata) is None


# -- decide_mode ------------------------------------------------------------------------------
ROTATING = RotatorSettings(claude_tokens=("sk-ant-oat01-x",), mode="rotate")
PASSING = RotatorSettings(claude_tokens=("sk-ant-oat01-x",), mode="passthrough")


@pytest.mark.parametrize(
    ("settings", "requested", "may_use_pool", "pool_size", "mode"),
    [
        (ROTATING, None, True, 3, "rotate"),
        (PASSING, None, True, 3, "passthrough"),
        (ROTATING, None, False, 3, "passthrough"),  # no permission: the client's own credential
        (ROTATING, None, True, 0, "passthrough"),  # nothing to rotate
        (ROTATING, "passthrough", True, 3, "passthrough"),
        (ROTATING, "passthrough", False, 3, "passthrough"),  # anyone may bring their own
        (PASSING, "rotate", True, 3, "rotate"),  # the header overrides with permission
        (PASSING, "rotate", True, 0, "passthrough"),  # ... but an empty pool cannot rotate
        (ROTATING, "rotate", True, 1, "rotate"),
    ],
)
def test_decide_mode(
    settings: RotatorSettings, requested: str | None, may_use_pool: bool, pool_size: int, mode: str
) -> None:
    assert decide_mode(settings, requested, may_use_pool, pool_size) == mode


@pytest.mark.parametrize("settings", [ROTATING, PASSING])
@pytest.mark.parametrize("pool_size", [0, 3])
def test_rotate_header_without_pool_permission_is_refused(settings: RotatorSettings, pool_size: int) -> None:
    with pytest.raises(PermissionError, match="may not use the shared Claude pool"):
        decide_mode(settings, "rotate", False, pool_size)


@pytest.mark.parametrize("requested", ["sideways", "Rotate", "", "rotate "])
def test_invalid_requested_mode_is_a_value_error_naming_the_header(requested: str) -> None:
    with pytest.raises(ValueError, match=MODE_HEADER) as error:
        decide_mode(ROTATING, requested, True, 3)
    assert not isinstance(error.value, PermissionError)


def test_invalid_requested_mode_is_refused_before_permission() -> None:
    with pytest.raises(ValueError, match="must be rotate or passthrough"):
        decide_mode(ROTATING, "sideways", False, 3)


def test_cooldown_and_lease_log_lines_show_iso_local_times(caplog: Any) -> None:
    import asyncio
    import logging
    from datetime import datetime

    from litellm_plugins.rotator.hook import TokenRotator
    from litellm_plugins.rotator.token_pool import TokenPool

    start = 1_800_000_000.25
    token = "sk-ant-oat01-iso-log-" + "x" * 30
    # No jitter (draw 0): the cooldown ends exactly when retry-after says.
    rotator = TokenRotator(RotatorSettings(claude_tokens=(token,)), clock=lambda: start, draw=lambda: 0.0)
    pool = rotator.pool()
    assert isinstance(pool, TokenPool)
    with caplog.at_level(logging.DEBUG, logger="litellm_plugins.rotator"):
        lease = asyncio.run(rotator.lease(pool, None))
        assert lease is not None
        asyncio.run(rotator.report_failure(pool, lease.fingerprint, 429, {"retry-after": "30"}))
    text = caplog.text
    assert str(int(start)) not in text  # no raw epoch seconds
    iso_start = datetime.fromtimestamp(start).astimezone().isoformat(timespec="milliseconds")
    iso_end = datetime.fromtimestamp(start + 30).astimezone().isoformat(timespec="milliseconds")
    assert f"leased at {iso_start}" in text
    assert f"from {iso_start} until {iso_end}" in text


# -- the pool permission fails closed --------------------------------------------------------------
POOL_TOKEN = "sk-ant-oat01-unit-pool-" + "p" * 30


class AuthResult:
    """What LiteLLM hands the hooks as `user_api_key_dict`: only its metadata matters here."""

    def __init__(self, metadata: Any) -> None:
        self.metadata = metadata


def rotator_mode(auth_metadata: Any, headers: dict[str, str] | None = None) -> str:
    import asyncio

    from litellm_plugins.core.metadata_keys import ROTATOR_STATE
    from litellm_plugins.rotator.hook import TokenRotator

    rotator = TokenRotator(settings=RotatorSettings(claude_tokens=(POOL_TOKEN,), mode="rotate"))
    data: dict[str, Any] = {"proxy_server_request": {"headers": headers or {}}, "litellm_metadata": {}}
    out = asyncio.run(
        rotator.async_pre_call_hook(AuthResult(auth_metadata), None, data, "anthropic_messages")
    )
    return str(out["litellm_metadata"][ROTATOR_STATE]["mode"])


@pytest.mark.parametrize(
    "auth_metadata", [None, {}, {"proxy_token_name": "x"}, {"may_use_claude_pool": "true"}]
)
def test_an_auth_result_without_the_pool_permission_may_not_use_the_pool(auth_metadata: Any) -> None:
    from litellm.proxy._types import ProxyException

    assert rotator_mode(auth_metadata) == "passthrough"
    with pytest.raises(ProxyException) as raised:
        rotator_mode(auth_metadata, {MODE_HEADER: "rotate"})
    assert str(raised.value.code) == "403"


def test_an_auth_result_with_the_pool_permission_rotates() -> None:
    assert rotator_mode({"may_use_claude_pool": True}) == "rotate"
