"""Upstream faults on the OpenAI-compatible and the Anthropic-compatible side, with every plugin
on. Nothing reached the client yet: the configured fallback serves. No fallback: an error in
the client's protocol with a cause (and 502 / 529 rather than LiteLLM's catch-all 500). Mid-stream:
an `event: error` frame and a clean end. A stall ends at the configured timeout. The proxy
keeps serving other requests throughout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.anthropic_messages import Fault as AnthropicFault
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.openai_chat import Fault as OpenAIFault
from tests.fakes.raw_faults import RawFaultServer
from tests.harness import ProxyProcess, free_port, plugin_config
from tests.reliability.conftest import CLIENT_TOKEN, Hygiene, all_plugin_callbacks
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ANTHROPIC_KEY = "sk-ant-api03-faults-key-" + "f" * 30
OPENAI_KEY = "sk-faults-openai-key-" + "o" * 20
TIMEOUT = 5  # litellm_settings.request_timeout for this proxy
PROTOCOLS = ("openai", "anthropic")
STATUS_FAULTS = (429, 500, 502, 503, 529)


class Upstreams:
    def __init__(self) -> None:
        self.anthropic = FakeAnthropic(api_keys=(ANTHROPIC_KEY,)).start()
        self.openai = FakeOpenAIChat(api_keys=(OPENAI_KEY,)).start()
        self.raw = RawFaultServer().start()
        self.closed = f"http://127.0.0.1:{free_port()}"

    def stop(self) -> None:
        self.anthropic.stop()
        self.openai.stop()
        self.raw.stop()

    def deployment(
        self, group: str, protocol: str, api_base: str, model: str | None = None
    ) -> dict[str, Any]:
        if protocol == "openai":
            params = {
                "model": f"openai/{model or 'deepseek-chat'}",
                "api_base": api_base,
                "api_key": OPENAI_KEY,
            }
            return {"model_name": group, "litellm_params": params, "model_info": {"max_output_tokens": 8192}}
        params = {
            "model": f"anthropic/{model or 'claude-haiku-4-5'}",
            "api_base": api_base,
            "api_key": ANTHROPIC_KEY,
        }
        return {"model_name": group, "litellm_params": params}

    def base(self, protocol: str) -> str:
        return self.openai.api_base if protocol == "openai" else self.anthropic.url

    def add_fault(
        self,
        protocol: str,
        kind: str,
        status: int = 500,
        headers: dict[str, str] | None = None,
        model: str | None = None,
    ) -> None:
        if protocol == "openai":
            self.openai.add_fault(OpenAIFault(kind=kind, status=status, headers=headers or {}, model=model))
        else:
            self.anthropic.add_fault(
                AnthropicFault(kind=kind, status=status, headers=headers or {}, model=model)
            )


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    servers = Upstreams()
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def faults_proxy(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    models: list[dict[str, Any]] = []
    fallbacks: list[dict[str, list[str]]] = []
    for protocol in PROTOCOLS:
        faulty_model = (
            "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
        )  # faults match on it
        ok = f"{protocol}-ok"
        models.append(upstreams.deployment(ok, protocol, upstreams.base(protocol)))
        models.append(
            upstreams.deployment(f"{protocol}-plain", protocol, upstreams.base(protocol), faulty_model)
        )
        models.append(
            upstreams.deployment(f"{protocol}-flaky", protocol, upstreams.base(protocol), faulty_model)
        )
        fallbacks.append({f"{protocol}-flaky": [ok]})
        suffix = "/v1" if protocol == "openai" else ""
        for behaviour in (
            "refused",
            "reset_before_first_byte",
            "stall_before_headers",
            "reset_mid_stream",
            "stall_mid_stream",
        ):
            base = (
                upstreams.closed + suffix
                if behaviour == "refused"
                else upstreams.raw.base(behaviour, protocol)
            )
            models.append(upstreams.deployment(f"{protocol}-{behaviour}", protocol, base))
            models.append(upstreams.deployment(f"{protocol}-{behaviour}-fb", protocol, base))
            fallbacks.append({f"{protocol}-{behaviour}-fb": [ok]})
    config = plugin_config(
        models,
        fallbacks=fallbacks,
        callbacks=all_plugin_callbacks(),
        extra_litellm_settings={"request_timeout": TIMEOUT},
    )
    process = ProxyProcess(
        config, tmp_path_factory.mktemp("faults"), env={"PROXY_STATIC_TOKEN": CLIENT_TOKEN}, name="faults"
    ).start()
    yield process
    process.stop()


def call(proxy: ProxyProcess, model: str, *, stream: bool, route: str = "/v1/messages") -> httpx.Response:
    body = {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "fault test"}],
    }
    headers = {
        "x-litellm-api-key": CLIENT_TOKEN,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    label = f"upstream fault {model} {'stream' if stream else 'json'} {route}"
    try:
        response = httpx.post(
            f"{proxy.url}{route}", content=json.dumps(body), headers=headers, timeout=TIMEOUT * 6
        )
    except httpx.TimeoutException:
        LEDGER.record(None, label, hung=True)
        raise
    # The faults are the upstream's: a 502/529 here is the intended answer, not the proxy's own 5xx.
    LEDGER.record_response(response, label, secrets=(ANTHROPIC_KEY, OPENAI_KEY, CLIENT_TOKEN), passed_on=True)
    return response


def answer_text(response: httpx.Response) -> str:
    """The answer's text, from a JSON body or joined from the stream's text deltas."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        return response.text
    texts = []
    for line in response.text.splitlines():
        if line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
                continue
            delta = data.get("delta") if isinstance(data, dict) else None
            if isinstance(delta, dict) and delta.get("type") == "text_delta":
                texts.append(delta.get("text", ""))
    return "".join(texts)


def served_by_fallback(response: httpx.Response, protocol: str) -> bool:
    marker = "fake-openai deepseek-chat" if protocol == "openai" else "fake-anthropic claude-haiku-4-5"
    return response.status_code == 200 and marker in answer_text(response)


def assert_protocol_error(
    response: httpx.Response, hygiene: Hygiene, route: str = "/v1/messages"
) -> dict[str, Any]:
    hygiene.saw(response.text)
    assert response.status_code >= 400
    assert "Traceback" not in response.text
    body = response.json()
    if route == "/v1/messages":
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"], body
        return body["error"]
    assert body["error"]["message"], body
    return body["error"]


def sse_events(text: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("event:")]


def assert_healthy(proxy: ProxyProcess) -> None:
    for protocol in PROTOCOLS:
        assert served_by_fallback(call(proxy, f"{protocol}-ok", stream=False), protocol)


# -- nothing reached the client: fail over ------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("status", STATUS_FAULTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_status_faults_fail_over_to_the_fallback(
    faults_proxy: ProxyProcess, upstreams: Upstreams, protocol: str, status: int, stream: bool
) -> None:
    model = "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
    upstreams.add_fault(
        protocol, "status", status, {"retry-after": "7"} if status == 429 else None, model=model
    )
    response = call(faults_proxy, f"{protocol}-flaky", stream=stream)
    assert served_by_fallback(response, protocol), response.text[:300]


@pytest.mark.parametrize("kind", ["malformed_json", "malformed_sse", "empty"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_broken_responses_fail_over_to_the_fallback(
    faults_proxy: ProxyProcess, upstreams: Upstreams, protocol: str, kind: str
) -> None:
    model = "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
    upstreams.add_fault(protocol, kind, model=model)
    assert served_by_fallback(call(faults_proxy, f"{protocol}-flaky", stream=False), protocol)


@pytest.mark.parametrize("behaviour", ["refused", "reset_before_first_byte", "stall_before_headers"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_faults_fail_over_to_the_fallback(
    faults_proxy: ProxyProcess, protocol: str, behaviour: str
) -> None:
    for stream in (False, True):
        response = call(faults_proxy, f"{protocol}-{behaviour}-fb", stream=stream)
        assert served_by_fallback(response, protocol), response.text[:300]


# -- no fallback: a protocol error with a cause --------------------------------------------------
@pytest.mark.parametrize("route", ["/v1/messages", "/v1/chat/completions"])
@pytest.mark.parametrize("status", STATUS_FAULTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_status_faults_without_fallback_keep_their_status(
    faults_proxy: ProxyProcess, upstreams: Upstreams, hygiene: Hygiene, protocol: str, status: int, route: str
) -> None:
    model = "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
    upstreams.add_fault(
        protocol, "status", status, {"retry-after": "7"} if status == 429 else None, model=model
    )
    response = call(faults_proxy, f"{protocol}-plain", stream=False, route=route)
    error = assert_protocol_error(response, hygiene, route)
    assert response.status_code == status  # the upstream's own status, 529 included
    if route == "/v1/messages":
        expected = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        assert error["type"] == expected


@pytest.mark.parametrize("route", ["/v1/messages", "/v1/chat/completions"])
@pytest.mark.parametrize("kind", ["malformed_json", "malformed_sse", "empty"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_broken_responses_without_fallback_are_bad_gateway(
    faults_proxy: ProxyProcess, upstreams: Upstreams, hygiene: Hygiene, protocol: str, kind: str, route: str
) -> None:
    model = "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
    upstreams.add_fault(protocol, kind, model=model)
    response = call(faults_proxy, f"{protocol}-plain", stream=False, route=route)
    assert_protocol_error(response, hygiene, route)
    assert response.status_code == 502


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("behaviour", ["refused", "reset_before_first_byte"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unreachable_upstream_without_fallback_is_bad_gateway(
    faults_proxy: ProxyProcess, hygiene: Hygiene, protocol: str, behaviour: str, stream: bool
) -> None:
    response = call(faults_proxy, f"{protocol}-{behaviour}", stream=stream)
    assert_protocol_error(response, hygiene)
    assert response.status_code == 502


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stalled_upstream_ends_at_the_configured_timeout_and_others_are_served(
    faults_proxy: ProxyProcess, hygiene: Hygiene, protocol: str
) -> None:
    others: list[bool] = []

    def meanwhile() -> None:
        others.extend(served_by_fallback(call(faults_proxy, f"{p}-ok", stream=True), p) for p in PROTOCOLS)

    helper = threading.Thread(target=meanwhile)
    helper.start()
    response = call(faults_proxy, f"{protocol}-stall_before_headers", stream=False)
    helper.join(timeout=TIMEOUT * 6)
    error = assert_protocol_error(response, hygiene)
    assert response.status_code in (408, 504)
    assert "time" in error["message"].lower()
    assert others == [True, True]


# -- something reached the client: an error event and a clean end ------------------------------
@pytest.mark.parametrize("behaviour", ["reset_mid_stream", "stall_mid_stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mid_stream_failures_end_with_an_error_event(
    faults_proxy: ProxyProcess, hygiene: Hygiene, protocol: str, behaviour: str
) -> None:
    response = call(faults_proxy, f"{protocol}-{behaviour}", stream=True)
    hygiene.saw(response.text)
    assert response.status_code == 200  # the stream had started
    events = sse_events(response.text)
    assert events[0] == "message_start" and events[-1] == "error", events
    assert "message_stop" not in events
    last = json.loads(response.text.strip().splitlines()[-1].removeprefix("data:"))
    assert last["type"] == "error" and last["error"]["message"]


@pytest.mark.parametrize("kind", ["malformed_json", "malformed_sse", "empty"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_broken_streams_end_with_an_error_event(
    faults_proxy: ProxyProcess, upstreams: Upstreams, hygiene: Hygiene, protocol: str, kind: str
) -> None:
    model = "deepseek-reasoner" if protocol == "openai" else "claude-opus-4-1"
    upstreams.add_fault(protocol, kind, model=model)
    response = call(faults_proxy, f"{protocol}-plain", stream=True)
    hygiene.saw(response.text)
    if response.status_code != 200:  # refused before the stream started: a protocol error
        assert_protocol_error(response, hygiene)
        assert response.status_code == 502
        return
    events = sse_events(response.text)
    assert events and events[-1] == "error", response.text[:500]
    assert "message_stop" not in events


def test_the_proxy_is_healthy_after_every_fault(faults_proxy: ProxyProcess) -> None:
    assert_healthy(faults_proxy)
    assert "Traceback" not in "".join(
        line for line in faults_proxy.log_text().splitlines() if "litellm_plugins" in line
    )
