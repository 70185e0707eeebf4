"""Slow and unauthenticated clients over real sockets: authentication before the body, and a
bounded body read.

- An unauthenticated client gets its 401 as soon as its headers arrive: the proxy neither waits
  for nor parses its (here: never sent) 10 MB body.
- A client that sends its headers and then stalls, or sends less than its `content-length`,
  gets a 408 `timeout_error` in the route's protocol after `LITELLM_PLUGINS_BODY_READ_TIMEOUT`
  (2 s for this proxy) instead of holding the connection.
- Meanwhile other clients are served.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess
from tests.reliability.conftest import CLIENT_TOKEN, reliability_config, reliability_env
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BODY_READ_TIMEOUT = 2
# The client's bound for an answer: far above the proxy's, far below the 75 s seen before.
SOCKET_TIMEOUT = 20
ROUTES = ("/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens")
STALLED_CLIENTS = 20


@pytest.fixture(scope="module")
def slow_proxy(
    reliability_anthropic: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProxyProcess]:
    env = {**reliability_env(), "LITELLM_PLUGINS_BODY_READ_TIMEOUT": str(BODY_READ_TIMEOUT)}
    process = ProxyProcess(
        reliability_config(reliability_anthropic, openai_fake),
        tmp_path_factory.mktemp("slow"),
        env=env,
        name="slow",
    ).start()
    yield process
    process.stop()


def head(route: str, content_length: int, token: str | None) -> bytes:
    lines = [
        f"POST {route} HTTP/1.1",
        "Host: 127.0.0.1",
        "content-type: application/json",
        "anthropic-version: 2023-06-01",
        f"content-length: {content_length}",
    ]
    if token is not None:
        lines.append(f"x-litellm-api-key: {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(connection: socket.socket) -> tuple[int | None, bytes]:
    """(status, whole answer) as soon as the proxy answers; (None, b"") if it does not in time."""
    received = b""
    try:
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        return None, received
    if not received:
        return None, received
    return int(received.split(b" ", 2)[1]), received


def _complete(received: bytes) -> bool:
    head_part, _, body = received.partition(b"\r\n\r\n")
    for line in head_part.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def json_body(answer: bytes) -> dict[str, object]:
    document = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert isinstance(document, dict)
    return document


def open_socket(proxy: ProxyProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", proxy.port), timeout=SOCKET_TIMEOUT)
    connection.settimeout(SOCKET_TIMEOUT)
    return connection


@pytest.mark.parametrize("route", ROUTES)
def test_an_unauthenticated_client_is_refused_before_its_body_is_read(
    slow_proxy: ProxyProcess, route: str
) -> None:
    with open_socket(slow_proxy) as connection:
        connection.sendall(head(route, 10_000_000, "not-a-proxy-token"))
        status, answer = read_answer(connection)  # the body is never sent
    LEDGER.record(status, f"unauthenticated, body never sent, {route}", hung=status is None)
    assert status == 401, answer[:300]
    assert b"x-should-retry: false" in answer.lower()
    error = json_body(answer)
    if route.startswith("/v1/messages"):
        assert error["type"] == "error" and error["error"]["type"] == "authentication_error"  # type: ignore[index]
    else:
        assert error["error"]["type"] == "auth_error"  # type: ignore[index]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("sent", [0, 10], ids=["headers-then-stall", "short-body"])
def test_a_stalled_body_ends_with_a_408_timeout_error(
    slow_proxy: ProxyProcess, route: str, sent: int
) -> None:
    with open_socket(slow_proxy) as connection:
        connection.sendall(head(route, 1000, CLIENT_TOKEN) + b'{"model": "'[:sent])
        status, answer = read_answer(connection)
    LEDGER.record(status, f"stalled body ({sent} of 1000 bytes) on {route}", hung=status is None)
    assert status == 408, answer[:300]
    error = json_body(answer)
    if route.startswith("/v1/messages"):
        assert error["type"] == "error" and error["error"]["type"] == "timeout_error"  # type: ignore[index]
    else:
        assert error["error"]["type"] == "timeout_error"  # type: ignore[index]
    assert "LITELLM_PLUGINS_BODY_READ_TIMEOUT" in error["error"]["message"]  # type: ignore[index]


def test_stalled_clients_do_not_hold_the_proxy(slow_proxy: ProxyProcess) -> None:
    """Twenty stalled uploads at once: each ends with a 408, and a normal client is served."""
    connections = [open_socket(slow_proxy) for _ in range(STALLED_CLIENTS)]
    try:
        for connection in connections:
            connection.sendall(head("/v1/messages", 5000, CLIENT_TOKEN) + b"{")
        body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        served = httpx.post(
            f"{slow_proxy.url}/v1/messages",
            json=body,
            headers={"x-litellm-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01"},
            timeout=60,
        )
        LEDGER.record_response(served, "served while 20 uploads stall")
        assert served.status_code == 200, served.text[:300]
        statuses = [read_answer(connection)[0] for connection in connections]
    finally:
        for connection in connections:
            connection.close()
    for status in statuses:
        LEDGER.record(status, "one of 20 stalled uploads", hung=status is None)
    assert statuses == [408] * STALLED_CLIENTS
