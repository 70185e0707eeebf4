"""The static-token auth hook in the real proxy: two named clients, the official SDKs, every
header form, the error shapes each protocol expects, and no token in the proxy's log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.conftest import session_model_list
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

ALICE = "alice-0123456789abcdef0123456789abcdef0123"
CI = "ci-0123456789abcdef0123456789abcdef012345678"
WRONG = "wrong-0123456789abcdef0123456789abcdef0123"
OAUTH = "sk-ant-oat01-integration-client-oauth-0000000000"
CLIENT_API_KEY = "sk-ant-api03-integration-client-key-0000000000"
ALL_SECRETS = (ALICE, CI, WRONG, OAUTH, CLIENT_API_KEY, MASTER_KEY)
ROUTES = ("/v1/messages", "/v1/chat/completions", "/v1/models")


@pytest.fixture(scope="module")
def auth_proxy(
    openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    config = plugin_config(session_model_list(openai_fake), aliases={"claude-*": "default"})
    env = {"PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,ci:{CI}:passthrough"}
    process = ProxyProcess(config, tmp_path_factory.mktemp("auth-proxy"), env=env, name="auth").start()
    yield process
    process.stop()


def ask_anthropic(client: anthropic.Anthropic) -> str:
    message = client.messages.create(
        model="default", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    return message.content[0].text  # type: ignore[union-attr]


def ask_openai(client: openai.OpenAI) -> str:
    completion = client.chat.completions.create(model="default", messages=[{"role": "user", "content": "hi"}])
    return completion.choices[0].message.content or ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": ALICE},  # x-api-key
        {"auth_token": ALICE},  # Authorization: Bearer
        {"api_key": CLIENT_API_KEY, "default_headers": {"x-litellm-api-key": ALICE}},
        {"auth_token": OAUTH, "default_headers": {"x-litellm-api-key": CI}},
    ],
    ids=["x-api-key", "bearer", "x-litellm-api-key+client-key", "x-litellm-api-key+oauth-bearer"],
)
def test_anthropic_sdk_header_forms(auth_proxy: ProxyProcess, kwargs: dict[str, object]) -> None:
    client = anthropic.Anthropic(base_url=auth_proxy.url, max_retries=0, timeout=60, **kwargs)  # type: ignore[arg-type]
    assert ask_anthropic(client).startswith("fake-openai deepseek-chat says:")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": ALICE},  # Authorization: Bearer
        {"api_key": OAUTH, "default_headers": {"x-litellm-api-key": CI}},
        {"api_key": "unused", "default_headers": {"x-api-key": ALICE, "Authorization": f"Bearer {OAUTH}"}},
    ],
    ids=["bearer", "x-litellm-api-key+oauth-bearer", "x-api-key+oauth-bearer"],
)
def test_openai_sdk_header_forms(auth_proxy: ProxyProcess, kwargs: dict[str, object]) -> None:
    client = openai.OpenAI(base_url=f"{auth_proxy.url}/v1", max_retries=0, timeout=60, **kwargs)  # type: ignore[arg-type]
    assert ask_openai(client).startswith("fake-openai deepseek-chat says:")
    assert "default" in [model.id for model in client.models.list()]


def test_master_key_still_serves_llm_and_admin_routes(auth_proxy: ProxyProcess) -> None:
    client = anthropic.Anthropic(base_url=auth_proxy.url, api_key=MASTER_KEY, max_retries=0, timeout=60)
    assert ask_anthropic(client).startswith("fake-openai")
    info = httpx.get(
        f"{auth_proxy.url}/model/info", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30
    )
    assert info.status_code == 200, info.text


def test_admin_routes_refuse_proxy_tokens(auth_proxy: ProxyProcess) -> None:
    info = httpx.get(f"{auth_proxy.url}/model/info", headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert info.status_code == 403, info.text
    assert "LITELLM_MASTER_KEY" in info.text


REJECTED_HEADERS = {
    "wrong": {"x-litellm-api-key": WRONG},
    "wrong-bearer": {"Authorization": f"Bearer {WRONG}"},
    "empty": {"x-litellm-api-key": "", "x-api-key": ""},
    "missing": {},
    "oauth-only": {"Authorization": f"Bearer {OAUTH}"},
    "client-key-only": {"x-api-key": CLIENT_API_KEY},
}


def send(proxy: ProxyProcess, route: str, headers: dict[str, str]) -> httpx.Response:
    if route == "/v1/models":
        return httpx.get(f"{proxy.url}{route}", headers=headers, timeout=30)
    body: dict[str, object] = {
        "model": "default",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    extra = {"anthropic-version": "2023-06-01"} if route == "/v1/messages" else {}
    return httpx.post(f"{proxy.url}{route}", json=body, headers={**extra, **headers}, timeout=30)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", sorted(REJECTED_HEADERS))
def test_rejected_credentials_get_401_in_the_route_protocol(
    auth_proxy: ProxyProcess, route: str, case: str
) -> None:
    response = send(auth_proxy, route, REJECTED_HEADERS[case])
    assert response.status_code == 401, response.text
    assert response.headers.get("x-should-retry") == "false"  # Claude Code would retry a 401 ten times
    document = response.json()
    if route == "/v1/messages":
        assert document["type"] == "error"
        assert document["error"]["type"] == "authentication_error"
        message = document["error"]["message"]
    else:
        assert "type" not in document or document.get("type") != "error"
        assert document["error"]["type"] == "auth_error"
        assert str(document["error"]["code"]) == "401"
        message = document["error"]["message"]
    assert "x-litellm-api-key" in message
    assert "Traceback" not in response.text
    for secret in ALL_SECRETS:
        assert secret not in response.text


def test_sdks_raise_authentication_errors(auth_proxy: ProxyProcess) -> None:
    with pytest.raises(anthropic.AuthenticationError) as anthropic_error:
        ask_anthropic(anthropic.Anthropic(base_url=auth_proxy.url, api_key=WRONG, max_retries=0, timeout=30))
    assert anthropic_error.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        ask_openai(openai.OpenAI(base_url=f"{auth_proxy.url}/v1", api_key=WRONG, max_retries=0, timeout=30))


def test_loopback_only_without_a_token(proxy: ProxyProcess) -> None:
    """The session proxy has no proxy token: this test client is on loopback, so it is served
    whatever it sends; admin routes still need the master key. (A non-loopback peer's refusal is
    decided by `is_loopback`, unit-tested.)"""
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key="any-client-value", max_retries=0, timeout=60)
    assert ask_openai(client).startswith("fake-openai")
    admin = httpx.get(
        f"{proxy.url}/model/info", headers={"Authorization": "Bearer any-client-value"}, timeout=30
    )
    assert admin.status_code == 401


def test_weak_token_stops_the_proxy_at_startup(openai_fake: FakeOpenAIChat, tmp_path: Path) -> None:
    weak = "weak-token-1234"
    config = plugin_config(session_model_list(openai_fake))
    process = ProxyProcess(config, tmp_path, env={"PROXY_STATIC_TOKEN": weak}, name="weak")
    with pytest.raises(RuntimeError, match="proxy exited"):
        process.start()
    assert process.process is not None and process.process.returncode != 0
    log = process.log_text()
    assert (
        "PROXY_STATIC_TOKEN" in log and "shorter than 32 characters" in log and "openssl rand -hex 24" in log
    )
    assert weak not in log


def test_no_token_value_in_the_proxy_log(auth_proxy: ProxyProcess, proxy: ProxyProcess) -> None:
    """Runs last in this module: everything above went through these proxies."""
    for process in (auth_proxy, proxy):
        log = process.log_text()
        assert log, "the proxy wrote no log"
        for secret in ALL_SECRETS:
            assert secret not in log, f"a token value appears in {process.log_path.name}"
    assert "auth: rejected 401" in auth_proxy.log_text()  # the scan saw the rejections' log lines
