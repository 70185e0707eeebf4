"""The request log in the real proxy: one line per client request, naming who asked for what,
which group and deployment served it, what failed on the way, status, tokens and latency; and
the response headers LiteLLM itself sends that say the same."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from tests.conftest import openai_deployment
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

ALICE = "alice-token-0123456789abcdef0123456789abcdef"
BOB = "bob-token-0123456789abcdef0123456789abcdef00"
POOL = tuple(f"sk-ant-oat01-request-log-{i}-" + "p" * 40 for i in range(2))
CALLBACKS = [
    "litellm_plugins.hooks.request_transformer",
    "litellm_plugins.hooks.token_rotator",
    "litellm_plugins.hooks.upstream_guard",
    "litellm_plugins.hooks.request_log",
]
# A line of the bundle's log format (litellm_plugins.logging_setup), from the request log.
LINE = re.compile(
    r"^\d\d:\d\d:\d\d - litellm_plugins:INFO: litellm_plugins\.request_log - (request: .*)$", re.MULTILINE
)


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=POOL).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def logged_proxy(
    openai_fake: FakeOpenAIChat, anthropic_fake: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    base = openai_fake.api_base
    models = [
        # Anthropic's API (the fake, declared so below), served by the Claude pool.
        {
            "model_name": "pooled",
            "litellm_params": {"model": "anthropic/claude-haiku-4-5", "api_base": anthropic_fake.url},
        },
        openai_deployment("default", "deepseek-chat", base, max_output_tokens=8192),
        # Cannot be reached: its fallback serves, or (`dead`, no fallback) the client gets a 502.
        openai_deployment("flaky", "deepseek-chat", "http://127.0.0.1:9/v1", max_output_tokens=8192),
        openai_deployment("dead", "deepseek-chat", "http://127.0.0.1:9/v1", max_output_tokens=8192),
    ]
    config = plugin_config(
        models,
        aliases={"claude-*": "flaky"},
        fallbacks=[{"flaky": ["default"]}],
        callbacks=CALLBACKS,
        plugins={"anthropic_api_bases": [anthropic_fake.url]},
    )
    env = {
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,bob:{BOB}:passthrough",
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "CLAUDE_TOKEN_MODE": "rotate",
    }
    process = ProxyProcess(config, tmp_path_factory.mktemp("request-log"), env=env).start()
    yield process
    process.stop()


def request_lines(proxy: ProxyProcess, call_id: str, timeout: float = 15.0) -> list[str]:
    """The request log's lines for one call, waiting (bounded) for LiteLLM's async logging."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in LINE.findall(proxy.log_text()) if f"call_id={call_id!r}" in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def headers(token: str) -> dict[str, str]:
    return {"x-litellm-api-key": token, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def test_a_fallback_is_one_line_naming_the_client_both_groups_and_the_reason(
    logged_proxy: ProxyProcess,
) -> None:
    response = httpx.post(
        f"{logged_proxy.url}/v1/messages",
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers=headers(ALICE),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    [line] = request_lines(logged_proxy, response.headers["x-litellm-call-id"])
    assert (
        "client='alice' model='claude-sonnet-4-5' group='default' deployment='openai/deepseek-chat' "
        "status=200" in line
    )
    assert re.search(r"tokens_in=[1-9]\d* tokens_out=[1-9]\d* latency_ms=\d+ stream=false", line), line
    assert (
        "fallbacks=[group='flaky' deployment='openai/deepseek-chat' reason='InternalServerError 500" in line
    )
    assert ALICE not in logged_proxy.log_text()
    # What LiteLLM itself tells the client (documented in the README).
    assert response.headers["x-litellm-model-group"] == "default"
    assert response.headers["x-litellm-attempted-fallbacks"] == "1"
    assert response.headers["x-litellm-attempted-retries"] == "0"
    assert response.headers["x-litellm-model-name"] == "openai/deepseek-chat"


def test_a_streamed_request_is_logged_after_its_last_chunk_with_token_counts(
    logged_proxy: ProxyProcess,
) -> None:
    client = anthropic.Anthropic(
        base_url=logged_proxy.url, api_key="unused", default_headers={"x-litellm-api-key": BOB}, max_retries=0
    )
    with client.messages.stream(
        model="default", max_tokens=64, messages=[{"role": "user", "content": "stream please"}]
    ) as stream:
        call_id = stream.response.headers["x-litellm-call-id"]
        text = "".join(stream.text_stream)
    assert text.startswith("fake-openai deepseek-chat says:")
    [line] = request_lines(logged_proxy, call_id)
    assert "client='bob' model='default' group='default' deployment='openai/deepseek-chat' status=200" in line
    assert re.search(r"tokens_in=[1-9]\d* tokens_out=[1-9]\d* latency_ms=\d+ stream=true", line), line
    assert "fallbacks=" not in line and "retries=" not in line


def test_a_failed_request_is_one_line_with_the_status_the_client_got(logged_proxy: ProxyProcess) -> None:
    response = httpx.post(
        f"{logged_proxy.url}/v1/chat/completions",
        json={"model": "dead", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {ALICE}"},
        timeout=60,
    )
    assert response.status_code == 502, response.text
    [line] = request_lines(logged_proxy, response.headers["x-litellm-call-id"])
    assert "client='alice' model='dead' group='dead' deployment='openai/deepseek-chat' status=502" in line
    assert "error='InternalServerError'" in line


def test_a_model_id_with_cr_lf_cannot_forge_a_log_line(logged_proxy: ProxyProcess) -> None:
    forged = (
        "claude-x\r\n12:00:00 - litellm_plugins:INFO: litellm_plugins.request_log - request: client='root'"
        + "y" * 300
    )
    response = httpx.post(
        f"{logged_proxy.url}/v1/messages",
        json={"model": forged, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        headers=headers(ALICE),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    [line] = request_lines(logged_proxy, response.headers["x-litellm-call-id"])
    assert 'model="claude-x\\r\\n12:00:00' in line and "...(+" in line  # repr-quoted and capped
    assert not any(
        found.startswith("request: client='root'") for found in LINE.findall(logged_proxy.log_text())
    )
    assert "\nrequest: client='root'" not in logged_proxy.log_text()


def test_a_pooled_token_failover_is_named_by_fingerprint(
    logged_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    sent = {**headers(ALICE), "x-claude-code-session-id": "request-log-session"}
    body = {"model": "pooled", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    first = httpx.post(f"{logged_proxy.url}/v1/messages", json=body, headers=sent, timeout=60)
    assert first.status_code == 200, first.text
    [sticky] = [r.credential for r in anthropic_fake.requests.all() if r.path == "/v1/messages"]
    anthropic_fake.rate_limit(sticky, retry_after=120)
    try:
        response = httpx.post(f"{logged_proxy.url}/v1/messages", json=body, headers=sent, timeout=60)
    finally:
        anthropic_fake.set_credential_fault(sticky, None)
    assert response.status_code == 200, response.text
    [line] = request_lines(logged_proxy, response.headers["x-litellm-call-id"])
    assert (
        "client='alice' model='pooled' group='pooled' deployment='anthropic/claude-haiku-4-5' status=200"
        in line
    )
    assert f"failovers=['claude {fingerprint(sticky)} HTTP 429']" in line
    assert "fallbacks=" not in line  # the failover happened inside the attempt
    assert not any(token in logged_proxy.log_text() for token in POOL)
