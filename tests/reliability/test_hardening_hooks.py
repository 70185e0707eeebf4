"""Issue 13, the second half: what a client may not control, and what it may not see.

Through the real proxy with every plugin on, in front of the strict fakes:
- client retry / timeout / fallback overrides (`x-litellm-num-retries`, `x-litellm-timeout`,
  body `num_retries`, `max_retries`, `timeout`, `fallbacks`, ...) never cost more upstream
  attempts, or more time, than the operator's `router_settings` allow (counted at the fake);
- a cut upstream stream on `/v1/chat/completions` ends with an OpenAI error chunk, never a
  clean `stop` and `[DONE]`;
- client strings (model ids with CR/LF, NUL, 100 KB) cannot forge or flood the proxy log;
- only known `anthropic-beta` flags reach a third-party Anthropic-compatible base;
- proxy tokens do not see upstream URLs, fallback config or tracebacks;
- a provider's 4xx for the client's own mistake surfaces instead of falling back;
- a hung upstream ends at the configured timeout with a timeout-shaped error.

Every request is counted in the suite's ledger (tests/reliability/ledger.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.anthropic_messages import Fault as AnthropicFault
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.raw_faults import RawFaultServer
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config
from tests.reliability.conftest import CLIENT_TOKEN, all_plugin_callbacks
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ANTHROPIC_KEY = "sk-ant-api03-hardening-anthropic-" + "h" * 30
THIRD_PARTY_KEY = "sk-ant-api03-hardening-third-party-" + "t" * 30
OPENAI_KEY = "sk-hardening-openai-key-" + "o" * 20
OPERATOR_RETRIES = 1  # router_settings.num_retries: at most 2 attempts per model group
TIMEOUT = 3  # litellm_settings.request_timeout for this proxy
CLIENT_WAIT = 45  # how long a test waits for an answer before it counts the request as hung
SECRETS = (ANTHROPIC_KEY, THIRD_PARTY_KEY, OPENAI_KEY, CLIENT_TOKEN, MASTER_KEY)


class Upstreams:
    def __init__(self) -> None:
        self.anthropic = FakeAnthropic(api_keys=(ANTHROPIC_KEY,)).start()  # "Anthropic's own API"
        self.third_party = FakeAnthropic(api_keys=(THIRD_PARTY_KEY,)).start()  # an Anthropic-compatible base
        self.openai = FakeOpenAIChat(api_keys=(OPENAI_KEY,)).start()
        self.raw = RawFaultServer().start()

    def stop(self) -> None:
        for server in (self.anthropic, self.third_party, self.openai, self.raw):
            server.stop()


def openai_deployment(group: str, api_base: str, model: str = "deepseek-chat") -> dict[str, Any]:
    params = {"model": f"openai/{model}", "api_base": api_base, "api_key": OPENAI_KEY}
    return {"model_name": group, "litellm_params": params, "model_info": {"max_output_tokens": 8192}}


def anthropic_deployment(
    group: str, api_base: str, key: str = ANTHROPIC_KEY, model: str = "claude-haiku-4-5"
) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {"model": f"anthropic/{model}", "api_base": api_base, "api_key": key},
    }


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    servers = Upstreams()
    yield servers
    servers.stop()


def hardened_config(upstreams: Upstreams) -> dict[str, Any]:
    raw = upstreams.raw
    models = [
        openai_deployment("ok", upstreams.openai.api_base),
        openai_deployment("reset", raw.base("reset_before_first_byte", "openai")),
        anthropic_deployment("reset-anthropic", raw.base("reset_before_first_byte", "anthropic")),
        openai_deployment("stall", raw.base("stall_before_headers", "openai")),
        anthropic_deployment("stall-anthropic", raw.base("stall_before_headers", "anthropic")),
        openai_deployment("cut", raw.base("reset_mid_stream", "openai")),
        anthropic_deployment("cut-anthropic", raw.base("reset_mid_stream", "anthropic")),
        openai_deployment("cut-stall", raw.base("stall_mid_stream", "openai")),
        openai_deployment("ended", raw.base("end_mid_stream", "openai")),
        anthropic_deployment("ended-anthropic", raw.base("end_mid_stream", "anthropic")),
        openai_deployment("finish-in-content", raw.base("finish_in_last_chunk", "openai")),
        # Claude ids by pattern: the transformer logs the concrete id it puts into the wildcard.
        {
            "model_name": "claude-any",
            "litellm_params": {
                "model": "anthropic/*",
                "api_base": upstreams.anthropic.url,
                "api_key": ANTHROPIC_KEY,
            },
        },
        anthropic_deployment("claude", upstreams.anthropic.url),
        anthropic_deployment("third-party", upstreams.third_party.url, THIRD_PARTY_KEY),
    ]
    fallbacks = [{"claude": ["ok"]}, {"third-party": ["ok"]}]
    config = plugin_config(
        models,
        fallbacks=fallbacks,
        callbacks=all_plugin_callbacks(),
        extra_litellm_settings={"request_timeout": TIMEOUT},
        plugins={"anthropic_api_bases": [upstreams.anthropic.url]},
        aliases={"claude-*": "claude-any"},
    )
    config["router_settings"]["num_retries"] = OPERATOR_RETRIES
    config["router_settings"]["retry_after"] = 0
    return config


@pytest.fixture(scope="module")
def hardened_proxy(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    config = hardened_config(upstreams)
    process = ProxyProcess(
        config,
        tmp_path_factory.mktemp("hardening"),
        env={"PROXY_STATIC_TOKEN": CLIENT_TOKEN},
        name="hardening",
    ).start()
    yield process
    process.stop()
    log = process.log_text()
    leaked = [secret[:12] for secret in SECRETS if secret in log]
    assert not leaked, f"credentials in the proxy log: {leaked}"


def post(
    proxy: ProxyProcess,
    route: str,
    body: dict[str, Any],
    label: str,
    *,
    headers: dict[str, str] | None = None,
    token: str = CLIENT_TOKEN,
    passed_on: bool = False,
) -> httpx.Response | None:
    """POST and record it in the ledger; None (recorded as a hang) when no answer came in CLIENT_WAIT.

    `passed_on`: the request goes to an upstream that resets on purpose, so a 502 is the answer."""
    sent = {"x-litellm-api-key": token, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    sent.update(headers or {})
    try:
        response = httpx.post(
            f"{proxy.url}{route}", content=json.dumps(body), headers=sent, timeout=CLIENT_WAIT
        )
    except httpx.TimeoutException:
        LEDGER.record(None, f"hardening: {label}", hung=True)
        return None
    LEDGER.record_response(response, f"hardening: {label}", secrets=SECRETS, passed_on=passed_on)
    return response


def messages_body(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hardening"}], **extra}


ROUTES = ("/v1/messages", "/v1/chat/completions")


# -- finding 4: client-controlled retries, timeouts and fallbacks ----------------------------------
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "override",
    [
        {"headers": {"x-litellm-num-retries": "20"}},
        {"body": {"num_retries": 20}},
        {"body": {"max_retries": 20}},
        {"body": {"router_settings_override": {"num_retries": 20}}},
    ],
    ids=["header", "body-num_retries", "body-max_retries", "body-router_settings_override"],
)
@pytest.mark.parametrize("group", ["reset", "reset-anthropic"])
def test_a_client_cannot_raise_the_retry_count(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, route: str, override: dict[str, Any], group: str
) -> None:
    before = upstreams.raw.hits["reset_before_first_byte"]
    body = messages_body(group, **override.get("body", {}))
    response = post(
        hardened_proxy,
        route,
        body,
        f"retries {group} {route}",
        headers=override.get("headers"),
        passed_on=True,
    )
    attempts = upstreams.raw.hits["reset_before_first_byte"] - before
    assert response is not None, f"no answer within {CLIENT_WAIT}s after {attempts} upstream attempts"
    assert response.status_code == 502, response.text[:300]
    assert 1 <= attempts <= OPERATOR_RETRIES + 1, f"{attempts} upstream attempts for one request"


@pytest.mark.parametrize("route", ROUTES)
def test_a_client_cannot_add_fallbacks(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, route: str
) -> None:
    before = dict(upstreams.raw.hits)
    body = messages_body(
        "reset", fallbacks=[{"reset": ["stall", "cut", "reset-anthropic"]}], max_fallbacks=10
    )
    response = post(hardened_proxy, route, body, f"client fallbacks {route}", passed_on=True)
    assert response is not None and response.status_code == 502, response.text[:300] if response else "hung"
    assert upstreams.raw.hits["stall_before_headers"] == before.get("stall_before_headers", 0)
    assert upstreams.raw.hits["reset_mid_stream"] == before.get("reset_mid_stream", 0)
    assert (
        upstreams.raw.hits["reset_before_first_byte"] - before.get("reset_before_first_byte", 0)
        <= OPERATOR_RETRIES + 1
    )


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "override",
    [
        {"headers": {"x-litellm-timeout": "300"}},
        {"headers": {"x-litellm-stream-timeout": "300"}, "body": {"stream": True}},
        {"body": {"timeout": 300}},
        {"body": {"request_timeout": 300}},
    ],
    ids=["header-timeout", "header-stream-timeout", "body-timeout", "body-request_timeout"],
)
def test_a_client_cannot_raise_the_timeout(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, route: str, override: dict[str, Any]
) -> None:
    before = upstreams.raw.hits["stall_before_headers"]
    body = messages_body("stall", **override.get("body", {}))
    response = post(hardened_proxy, route, body, f"client timeout {route}", headers=override.get("headers"))
    assert response is not None, "the client's timeout held the request past the operator's"
    assert response.status_code in (408, 504), response.text[:300]
    assert upstreams.raw.hits["stall_before_headers"] - before <= OPERATOR_RETRIES + 1


def test_mock_testing_switches_are_ignored(hardened_proxy: ProxyProcess, upstreams: Upstreams) -> None:
    """`mock_testing_fallbacks` would fail a healthy request on purpose, `mock_response` fake an answer."""
    before = len(upstreams.anthropic.requests.all())
    body = messages_body("claude", mock_testing_fallbacks=True, mock_response="forged", mock_timeout=True)
    response = post(hardened_proxy, "/v1/messages", body, "mock switches")
    assert response is not None, "hung"
    assert "forged" not in response.text and "fake-openai" not in response.text, response.text[:300]
    if response.status_code == 400:  # LiteLLM 1.108 refuses them itself, in the client's protocol
        assert response.json()["error"]["type"] == "invalid_request_error"
        return
    assert response.status_code == 200 and "fake-anthropic claude-haiku-4-5" in response.text, response.text[
        :300
    ]
    assert len(upstreams.anthropic.requests.all()) == before + 1


# -- finding 5: a cut stream on the chat route ------------------------------------------------------
def chat_stream_data(text: str) -> list[str]:
    return [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]


@pytest.mark.parametrize("group", ["cut", "cut-anthropic", "cut-stall", "ended", "ended-anthropic"])
def test_a_cut_chat_stream_ends_with_an_error_chunk(hardened_proxy: ProxyProcess, group: str) -> None:
    body = messages_body(group, stream=True)
    try:
        response = post(hardened_proxy, "/v1/chat/completions", body, f"cut chat stream {group}")
    except httpx.RemoteProtocolError:
        LEDGER.record(None, f"hardening: cut chat stream {group} (connection broken)")
        return  # a broken connection is an honest end too
    assert response is not None, "the cut stream never ended"
    data = chat_stream_data(response.text)
    assert response.status_code == 200 and data, response.text[:300]
    assert "[DONE]" not in data, data
    finishes = [
        choice.get("finish_reason")
        for item in data
        for choice in (json.loads(item).get("choices") or [])
        if isinstance(choice, dict)
    ]
    assert "stop" not in finishes, data
    last = json.loads(data[-1])
    assert isinstance(last.get("error"), dict) and last["error"]["message"], data[-1]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("group", ["ok", "claude", "finish-in-content"])
def test_a_complete_chat_stream_still_ends_with_done(hardened_proxy: ProxyProcess, group: str) -> None:
    response = post(
        hardened_proxy,
        "/v1/chat/completions",
        messages_body(group, stream=True),
        f"complete chat stream {group}",
    )
    assert response is not None and response.status_code == 200
    data = chat_stream_data(response.text)
    assert data[-1] == "[DONE]" and not any('"error"' in item for item in data), data[-3:]
    assert "stop" in data[-2], data[-3:]


# -- finding 6a: log forging ------------------------------------------------------------------------
def test_client_strings_cannot_forge_or_flood_the_log(hardened_proxy: ProxyProcess) -> None:
    forged = "FORGED-LOG-LINE litellm_plugins:INFO: everything is fine"
    for model in ("nosuch-model\r\n" + forged, "claude-forged\r\n" + forged + "\n\x00nul" + "A" * 100_000):
        for route in ROUTES:
            response = post(hardened_proxy, route, messages_body(model), f"forged model id {route}")
            assert response is not None and response.status_code < 500, (
                response.text[:300] if response else "hung"
            )
    log = hardened_proxy.log_text()
    lines = log.splitlines()
    assert not any(line.startswith("FORGED-LOG-LINE") for line in lines), (
        "a client string wrote its own log line"
    )
    assert "\x00" not in log
    longest = max(len(line) for line in lines)
    assert longest < 20_000, f"a log line of {longest} characters"


# -- finding 6b: anthropic-beta flags to third-party bases -------------------------------------------
def test_only_known_betas_reach_a_third_party_base(
    hardened_proxy: ProxyProcess, upstreams: Upstreams
) -> None:
    betas = (
        "interleaved-thinking-2025-05-14,oauth-2025-04-20,internal-probe-2099-01-01,"
        "fine-grained-tool-streaming-2025-05-14"
    )
    headers = {"anthropic-beta": betas, "anthropic-client-secret-ish": "do-not-forward"}
    upstreams.third_party.requests.clear()
    upstreams.anthropic.requests.clear()
    for group in ("third-party", "claude"):
        response = post(
            hardened_proxy, "/v1/messages", messages_body(group), f"betas {group}", headers=headers
        )
        assert response is not None and response.status_code == 200, (
            response.text[:300] if response else "hung"
        )
    third = upstreams.third_party.requests.last("/v1/messages")
    assert (
        "interleaved-thinking-2025-05-14" in third.betas
        and "fine-grained-tool-streaming-2025-05-14" in third.betas
    )
    assert "internal-probe-2099-01-01" not in third.betas and "oauth-2025-04-20" not in third.betas, (
        third.betas
    )
    assert "anthropic-client-secret-ish" not in third.headers
    own = upstreams.anthropic.requests.last("/v1/messages")
    assert "internal-probe-2099-01-01" in own.betas, own.betas  # Anthropic's own API keeps everything


# -- finding 6c: internals shown to proxy tokens -----------------------------------------------------
def test_proxy_tokens_do_not_see_upstream_urls(hardened_proxy: ProxyProcess, upstreams: Upstreams) -> None:
    for route in ROUTES:
        response = post(hardened_proxy, route, messages_body("ok"), f"internals headers {route}")
        assert response is not None and response.status_code == 200
        assert "x-litellm-model-api-base" not in response.headers
        assert upstreams.openai.url not in json.dumps(dict(response.headers))
    admin = post(
        hardened_proxy,
        "/v1/chat/completions",
        messages_body("ok"),
        "internals headers, master key",
        token=MASTER_KEY,
    )
    assert admin is not None and admin.status_code == 200
    assert "x-litellm-model-api-base" in admin.headers  # the operator still sees where it went


@pytest.mark.parametrize("route", ROUTES)
def test_proxy_tokens_do_not_see_fallback_config_or_timeouts_in_errors(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, route: str
) -> None:
    response = post(hardened_proxy, route, messages_body("stall"), f"internals error text {route}")
    assert response is not None and response.status_code >= 400
    text = response.text
    internals = (
        "allbacks",
        "Retried",
        "Max Retries",
        "127.0.0.1",
        "Deployment Info",
        "timeout value",
        "Timeout passed",
        "Traceback",
        "/site-packages/",
    )
    for internal in internals:
        assert internal not in text, f"{internal!r} shown to a proxy token: {text[:400]}"


def test_proxy_tokens_do_not_see_health_tracebacks(hardened_proxy: ProxyProcess) -> None:
    response = httpx.get(
        f"{hardened_proxy.url}/health", headers={"x-litellm-api-key": CLIENT_TOKEN}, timeout=CLIENT_WAIT
    )
    LEDGER.record_response(response, "hardening: /health with a proxy token", secrets=SECRETS)
    if response.status_code in (401, 403):
        return  # the route allow-list keeps proxy tokens out entirely
    for internal in ("Traceback", "/site-packages/", '.py"', "127.0.0.1", "api_base"):
        assert internal not in response.text, f"{internal!r} shown to a proxy token by /health"


# -- finding 6d: the client's own 4xx does not fall back ---------------------------------------------
@pytest.mark.parametrize("route", ROUTES)
def test_a_client_mistake_surfaces_instead_of_falling_back(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, route: str
) -> None:
    before = len(upstreams.openai.requests.all())
    body = messages_body("claude", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": -5})
    response = post(hardened_proxy, route, body, f"client 4xx {route}")
    assert response is not None and response.status_code == 400, response.text[:300] if response else "hung"
    assert "budget_tokens" in response.text
    assert len(upstreams.openai.requests.all()) == before, (
        "the client's own mistake went to the fallback provider"
    )


@pytest.mark.parametrize("status", [404, 413, 422])
def test_other_client_errors_surface_too(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, status: int
) -> None:
    before = len(upstreams.openai.requests.all())
    upstreams.anthropic.add_fault(AnthropicFault(kind="status", status=status, model="claude-haiku-4-5"))
    response = post(hardened_proxy, "/v1/messages", messages_body("claude"), f"client {status}")
    # LiteLLM reports Anthropic's 413 `request_too_large` as a 400 BadRequestError.
    assert response is not None and response.status_code in (status, 400), (
        response.text[:300] if response else "hung"
    )
    assert response.json()["type"] == "error"
    assert len(upstreams.openai.requests.all()) == before


@pytest.mark.parametrize("status", [429, 500, 529])
def test_provider_failures_still_fall_back(
    hardened_proxy: ProxyProcess, upstreams: Upstreams, status: int
) -> None:
    for _ in range(OPERATOR_RETRIES + 1):
        upstreams.anthropic.add_fault(AnthropicFault(kind="status", status=status, model="claude-haiku-4-5"))
    response = post(hardened_proxy, "/v1/messages", messages_body("claude"), f"provider {status} falls back")
    assert response is not None and response.status_code == 200, response.text[:300] if response else "hung"
    assert "fake-openai deepseek-chat" in response.text
    upstreams.anthropic.faults.clear()


# -- finding 6e: a hung upstream: bounded, and timeout-shaped ----------------------------------------
def test_a_hung_upstream_answers_a_timeout_error_in_each_protocol(hardened_proxy: ProxyProcess) -> None:
    messages = post(
        hardened_proxy, "/v1/messages", messages_body("stall-anthropic"), "hung upstream, messages"
    )
    assert messages is not None and messages.status_code in (408, 504), (
        messages.text[:300] if messages else "hung"
    )
    assert messages.json()["type"] == "error" and messages.json()["error"]["type"] == "timeout_error", (
        messages.text
    )
    chat = post(hardened_proxy, "/v1/chat/completions", messages_body("stall"), "hung upstream, chat")
    assert chat is not None and chat.status_code in (408, 504), chat.text[:300] if chat else "hung"
    error = chat.json()["error"]
    assert error["type"] == "timeout_error" and error["message"], chat.text
