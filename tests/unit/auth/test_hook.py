"""The custom_auth hook awaited directly with fake Starlette requests: no proxy, no network."""

from __future__ import annotations

import asyncio
import logging

import pytest
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
from starlette.requests import Request

from litellm_plugins.auth.hook import MESSAGE_ADMIN_ONLY, MESSAGE_NOT_LOOPBACK, StaticTokenAuth
from litellm_plugins.auth.proxy_tokens import load_auth_settings
from litellm_plugins.core.client_routes import CLIENT_ROUTES
from litellm_plugins.core.redaction import fingerprint

ALICE = "alice-token-0123456789abcdef0123456789"
CI = "ci-token-0123456789abcdef0123456789abcd"
MASTER = "sk-master-unit-0123456789abcdef0123456789"
OAUTH = "sk-ant-oat01-client-own-oauth-token-0000000000"
CLIENT_API_KEY = "sk-ant-api03-client-own-api-key-000000000000"
TOKENS = {"PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,ci:{CI}:passthrough"}


def make_request(path: str, headers: dict[str, str], host: str = "127.0.0.1") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (host, 50000),
        "server": ("127.0.0.1", 4000),
        "scheme": "http",
    }
    return Request(scope)


def authenticate(
    environ: dict[str, str], headers: dict[str, str], path: str = "/v1/messages", host: str = "127.0.0.1"
) -> UserAPIKeyAuth:
    auth = StaticTokenAuth(load_auth_settings(environ), master_key=lambda: MASTER)
    return asyncio.run(auth.user_api_key_auth(make_request(path, headers, host), api_key=""))


def rejected(
    environ: dict[str, str], headers: dict[str, str], path: str = "/v1/messages", host: str = "127.0.0.1"
) -> ProxyException:
    with pytest.raises(ProxyException) as caught:
        authenticate(environ, headers, path, host)
    return caught.value


@pytest.mark.parametrize(
    "headers",
    [
        {"x-litellm-api-key": ALICE},
        {"Authorization": f"Bearer {ALICE}"},
        {"authorization": f"bearer {ALICE}"},
        {"x-api-key": ALICE},
        {"x-litellm-api-key": f"Bearer {ALICE}"},
        # Claude Code with its own credentials and the proxy token in a custom header.
        {"Authorization": f"Bearer {OAUTH}", "x-litellm-api-key": ALICE},
        {"x-api-key": CLIENT_API_KEY, "x-litellm-api-key": ALICE},
        {"Authorization": f"Bearer {OAUTH}", "x-api-key": ALICE},
        # Another header carrying a provider key does not spoil the proxy token.
        {"x-api-key": "some-provider-key", "x-litellm-api-key": ALICE},
    ],
)
def test_every_header_form_authenticates(headers: dict[str, str]) -> None:
    result = authenticate(TOKENS, headers, host="10.1.2.3")
    assert result.user_id == "alice" and result.key_alias == "alice"
    assert result.metadata == {
        "proxy_token_name": "alice",
        "may_use_claude_pool": True,
        "token_fingerprint": fingerprint(ALICE),
        # Whether the client sent a Claude credential of its own (the rotator's missing-credential 401).
        "sent_claude_credential": any("sk-ant-" in value for value in headers.values()),
    }
    assert ALICE not in result.model_dump_json()
    assert result.user_role is None


def test_pool_permission_follows_the_token() -> None:
    result = authenticate(TOKENS, {"x-litellm-api-key": CI}, path="/v1/chat/completions")
    assert result.user_id == "ci" and result.metadata["may_use_claude_pool"] is False


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "No proxy token"),
        ({"x-litellm-api-key": ""}, "No proxy token"),
        ({"Authorization": "Bearer "}, "No proxy token"),
        ({"Authorization": f"Bearer {OAUTH}"}, "Claude credential"),
        ({"x-api-key": CLIENT_API_KEY}, "Claude credential"),
        ({"x-litellm-api-key": ALICE + "x"}, "Invalid proxy token"),
        ({"x-api-key": "wrong-token-0123456789abcdef0123456789"}, "Invalid proxy token"),
        ({"Authorization": f"Basic {ALICE}"}, "No proxy token"),
    ],
)
def test_missing_wrong_and_client_only_credentials_are_401(headers: dict[str, str], needle: str) -> None:
    error = rejected(TOKENS, headers)
    assert error.code == "401" and error.type == "auth_error" and error.param == "api_key"
    assert error.headers == {"x-should-retry": "false"}
    assert needle in error.message
    assert "x-litellm-api-key" in error.message
    for value in headers.values():
        secret = value.removeprefix("Bearer ").removeprefix("Basic ")
        if secret:
            assert secret not in error.message


def test_loopback_peers_are_served_without_a_token() -> None:
    for host in ("127.0.0.1", "::1"):
        result = authenticate({}, {"x-api-key": "anything"}, host=host)
        assert result.user_id == "loopback" and result.metadata["may_use_claude_pool"] is True


def test_other_peers_are_refused_without_a_token_and_forwarded_headers_are_not_trusted() -> None:
    error = rejected({}, {"x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1"}, host="203.0.113.9")
    assert error.code == "401" and error.message == MESSAGE_NOT_LOOPBACK
    assert "PROXY_STATIC_TOKEN" in error.message


def test_open_mode_serves_everyone() -> None:
    result = authenticate({"PROXY_AUTH_OPEN": "true"}, {}, host="203.0.113.9")
    assert result.user_id == "anonymous"


def test_open_mode_logs_a_warning_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="litellm_plugins")
    logging.getLogger("litellm_plugins").propagate = True
    try:
        StaticTokenAuth().configure({"PROXY_AUTH_OPEN": "true"})
    finally:
        logging.getLogger("litellm_plugins").propagate = False
    assert any(r.levelno == logging.WARNING and "PROXY_AUTH_OPEN" in r.getMessage() for r in caplog.records)


def test_tokens_configured_means_loopback_is_not_enough() -> None:
    assert rejected(TOKENS, {}, host="127.0.0.1").code == "401"


def test_master_key_works_everywhere_as_admin() -> None:
    for path in ("/v1/messages", "/key/generate", "/model/info"):
        result = authenticate(TOKENS, {"Authorization": f"Bearer {MASTER}"}, path=path, host="10.0.0.1")
        assert result.user_role == LitellmUserRoles.PROXY_ADMIN
        assert MASTER not in result.model_dump_json()


def test_admin_routes_stay_behind_the_master_key() -> None:
    assert rejected(TOKENS, {"x-litellm-api-key": ALICE}, path="/key/generate").code == "403"
    assert rejected(TOKENS, {}, path="/user/new").code == "401"
    # Loopback and open modes do not open admin routes either.
    assert rejected({}, {}, path="/key/generate").message == MESSAGE_ADMIN_ONLY
    assert rejected({"PROXY_AUTH_OPEN": "true"}, {}, path="/model/new", host="10.0.0.1").code == "401"


def test_llm_routes_include_models_and_count_tokens() -> None:
    for path in ("/v1/models", "/models", "/v1/messages/count_tokens", "/chat/completions"):
        assert authenticate(TOKENS, {"x-litellm-api-key": ALICE}, path=path).user_id == "alice"


def test_rejections_log_fingerprints_never_tokens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="litellm_plugins")
    logging.getLogger("litellm_plugins").propagate = True
    wrong = "wrong-token-0123456789abcdef0123456789"
    try:
        rejected(TOKENS, {"x-litellm-api-key": wrong, "Authorization": f"Bearer {OAUTH}"})
        authenticate(TOKENS, {"x-litellm-api-key": ALICE})
    finally:
        logging.getLogger("litellm_plugins").propagate = False
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert fingerprint(wrong) in text
    for secret in (wrong, OAUTH, ALICE):
        assert secret not in text


# -- the route allow-list ---------------------------------------------------------------------
PASS_THROUGH_ROUTES = [
    "/openai/v1/chat/completions",
    "/openrouter/v1/chat/completions",
    "/anthropic/v1/messages",
    "/gemini/v1beta/models/gemini-pro:generateContent",
    "/vllm/v1/chat/completions",
    "/langfuse/api/public/ingestion",
    "/v1/responses",
    "/v1/embeddings",
    "/claude_code_gateway/v1/messages",
]


@pytest.mark.parametrize("path", PASS_THROUGH_ROUTES)
def test_a_proxy_token_is_refused_outside_the_allow_list(path: str) -> None:
    error = rejected(TOKENS, {"x-litellm-api-key": ALICE}, path)
    assert error.code == "403" and MESSAGE_ADMIN_ONLY in error.message


@pytest.mark.parametrize("environ", [{}, {"PROXY_AUTH_OPEN": "true"}], ids=["loopback", "open"])
@pytest.mark.parametrize("path", PASS_THROUGH_ROUTES)
def test_no_token_modes_reach_only_the_allow_list(environ: dict[str, str], path: str) -> None:
    error = rejected(environ, {}, path)
    assert error.code == "401" and MESSAGE_ADMIN_ONLY in error.message


@pytest.mark.parametrize("path", sorted(CLIENT_ROUTES))
def test_the_allow_list_serves_proxy_tokens_and_loopback(path: str) -> None:
    assert authenticate(TOKENS, {"x-litellm-api-key": ALICE}, path).user_id == "alice"
    assert authenticate({}, {}, path).user_id == "loopback"


def test_refusal_on_an_asgi_scope_is_the_auth_decision_when_this_auth_is_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    auth = StaticTokenAuth(load_auth_settings(TOKENS), master_key=lambda: MASTER)
    scope = make_request("/openai/v1/chat/completions", {"x-litellm-api-key": ALICE}).scope
    fake_proxy = types.SimpleNamespace(user_custom_auth=None)
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", fake_proxy)
    assert auth.refusal(scope) is None  # another custom_auth is configured: LiteLLM decides
    fake_proxy.user_custom_auth = auth.user_api_key_auth
    status, message = auth.refusal(scope) or (0, "")
    assert status == 403 and MESSAGE_ADMIN_ONLY in message
    served = make_request("/v1/messages", {"x-litellm-api-key": ALICE}).scope
    assert auth.refusal(served) is None
