"""Every route LiteLLM serves, swept with no token, a proxy token and the master key.

The route table is read from LiteLLM's app itself (:mod:`tests.reliability.route_table`, in a
subprocess started next to the proxy), so a route a newer LiteLLM adds is swept too and must be
closed to proxy tokens by default. One request per route per credential, each with a short
timeout, a bounded number of threads. Every provider pass-through base the proxy could read from
its environment (`OPENAI_API_BASE`, `OPENROUTER_API_BASE`, `ANTHROPIC_API_BASE`, ...) points at
a recording listener on 127.0.0.1, with an operator key beside it, as a real deployment would
have: nothing a proxy token or an anonymous client sends may reach it.

What must hold:
- a proxy token reaches only the allow-list of :mod:`litellm_plugins.client_routes`; on every
  other route but the health probes it gets the bundle's 403, before LiteLLM routes the request
  (so LiteLLM's own unauthenticated routes are closed too);
- with no credential: 401 on every route but the health probes; an anonymous loopback client
  of a proxy with no token configured is served on the allow-list only;
- no 5xx for anything a client without the master key sends;
- the master key is never refused by the bundle's auth;
- the pass-through listener received 0 requests from the non-admin sweeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from litellm_plugins.core.client_routes import CLIENT_ROUTES, OPEN_ROUTES
from litellm_plugins.rotator.status_route import PATH as POOL_STATUS_PATH
from litellm_plugins.usage.route import PATH as USAGE_PATH
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.server import RecordedRequest, RequestLog, ThreadedServer
from tests.harness import MASTER_KEY, REPO_ROOT, ProxyProcess
from tests.reliability.conftest import CLIENT_TOKEN, POOL, Hygiene, reliability_config
from tests.reliability.ledger import LEDGER
from tests.reliability.route_table import sample_path

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUEST_TIMEOUT = 15.0
MAX_READ = 65536
THREADS = 8
DUMP_TIMEOUT = 240
ADMIN_ONLY_MARKER = "LITELLM_MASTER_KEY"
# Every environment variable a LiteLLM pass-through route reads its target from, and the key
# beside it: all point at the recording listener.
PASS_THROUGH_BASES = (
    "OPENAI_API_BASE",
    "OPENROUTER_API_BASE",
    "ANTHROPIC_API_BASE",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_BASE",
    "COHERE_API_BASE",
    "MISTRAL_API_BASE",
    "TYPESAFE_API_BASE",
    "AZURE_API_BASE",
    "AZURE_SPEECH_API_BASE",
    "DEEPGRAM_API_BASE",
    "CURSOR_API_BASE",
    "GIGACHAT_API_BASE",
    "ASSEMBLYAI_API_BASE",
    "VLLM_API_BASE",
    "LANGFUSE_HOST",
)
PASS_THROUGH_KEYS = (
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "COHERE_API_KEY",
    "MISTRAL_API_KEY",
    "AZURE_API_KEY",
    "DEEPGRAM_API_KEY",
    "CURSOR_API_KEY",
    "ASSEMBLYAI_API_KEY",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
)
OPERATOR_KEY = "sk-operator-pass-through-key-" + "p" * 24
BODY = {
    "model": "gpt-9-expensive",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "route sweep"}],
}
METHOD_PREFERENCE = ("POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS")
# The bundle's own routes for operators: ASGI layers in front of LiteLLM, so not in its route table.
BUNDLE_ROUTES = (POOL_STATUS_PATH, USAGE_PATH)


class PassThroughListener:
    """A provider that records every request and answers 200, as a real one would."""

    def __init__(self) -> None:
        self.requests = RequestLog()
        requests = self.requests

        async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
            if scope["type"] != "http":
                return
            raw = b""
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            requests.add(RecordedRequest(scope["method"], scope["path"], headers, None, raw))
            start = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
            await send(start)
            await send({"type": "http.response.body", "body": b'{"id": "pass-through-listener"}'})

        self._server = ThreadedServer(app)

    def start(self) -> PassThroughListener:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url


@dataclass(frozen=True)
class Route:
    kind: str
    template: str
    methods: tuple[str, ...]

    @property
    def path(self) -> str:
        path = sample_path(self.template)
        return path + "/" if self.kind == "mount" else path

    @property
    def method(self) -> str:
        return next(
            (m for m in METHOD_PREFERENCE if m in self.methods), self.methods[0] if self.methods else "GET"
        )

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}" if self.kind != "websocket" else f"WS {self.template}"


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer within the timeout
    text: str


def start_route_dump() -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.route_table"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def read_route_dump(process: subprocess.Popen[bytes]) -> list[Route]:
    output, _ = process.communicate(timeout=DUMP_TIMEOUT)
    assert process.returncode == 0, "the route dump failed"
    rows = json.loads(output)
    routes = [Route(row["kind"], row["path"], tuple(row["methods"])) for row in rows]
    return routes + [Route("http", path, ("GET",)) for path in BUNDLE_ROUTES]


def sweep_env(listener: PassThroughListener, with_token: bool) -> dict[str, str]:
    env = {name: listener.url for name in PASS_THROUGH_BASES}
    env.update({name: OPERATOR_KEY for name in PASS_THROUGH_KEYS})
    env["CLAUDE_OAUTH_TOKENS"] = ",".join(POOL)
    if with_token:
        env["PROXY_STATIC_TOKEN"] = CLIENT_TOKEN
    return env


@dataclass
class Sweep:
    routes: list[Route]
    tokens_proxy: ProxyProcess
    loopback_proxy: ProxyProcess
    listener: PassThroughListener


@pytest.fixture(scope="module")
def sweep(
    reliability_anthropic: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sweep]:
    dump = start_route_dump()
    listener = PassThroughListener().start()
    config = reliability_config(reliability_anthropic, openai_fake)
    workdir = tmp_path_factory.mktemp("route-sweep")
    tokens = ProxyProcess(config, workdir, env=sweep_env(listener, True), name="sweep-tokens")
    loopback = ProxyProcess(config, workdir, env=sweep_env(listener, False), name="sweep-loopback")
    starters = [threading.Thread(target=proxy.start) for proxy in (tokens, loopback)]
    try:
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join(timeout=300)
        routes = read_route_dump(dump)
        yield Sweep(routes, tokens, loopback, listener)
    finally:
        dump.kill()
        tokens.stop()
        loopback.stop()
        listener.stop()


def send(proxy: ProxyProcess, route: Route, headers: dict[str, str]) -> Answer:
    if route.kind == "websocket":
        return handshake(proxy, route, headers)
    content = json.dumps(BODY).encode() if route.method in ("POST", "PUT", "PATCH") else None
    sent = {"content-type": "application/json", "anthropic-version": "2023-06-01", **headers}
    url = f"{proxy.url}{route.path}"
    try:
        # Streamed, and cut after MAX_READ bytes or REQUEST_TIMEOUT: a few routes stream forever.
        with httpx.stream(
            route.method, url, content=content, headers=sent, timeout=REQUEST_TIMEOUT
        ) as response:
            body = b""
            deadline = time.monotonic() + REQUEST_TIMEOUT
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_READ or time.monotonic() > deadline:
                    break
    except httpx.TimeoutException:
        LEDGER.record(None, f"route sweep {route.label}", hung=True)
        return Answer(None, "")
    except httpx.HTTPError as error:
        LEDGER.record(None, f"route sweep {route.label}")
        return Answer(None, str(error))
    text = body.decode("utf-8", "replace")
    leaked = any(secret in text for secret in (OPERATOR_KEY, CLIENT_TOKEN, *POOL))
    admin = MASTER_KEY in headers.get("Authorization", "")
    LEDGER.record(response.status_code, f"route sweep {route.label}", leaked=leaked, admin=admin)
    return Answer(response.status_code, text)


def handshake(proxy: ProxyProcess, route: Route, headers: dict[str, str]) -> Answer:
    """A websocket handshake: 101 and an open socket means the route served this client."""
    url = f"ws://127.0.0.1:{proxy.port}{route.path}?model=gpt-4o"
    try:
        with connect(
            url, additional_headers=headers, open_timeout=REQUEST_TIMEOUT, close_timeout=2
        ) as socket:
            try:
                socket.recv(timeout=3)
            except TimeoutError:
                LEDGER.record(101, f"route sweep {route.label}")
                return Answer(101, "open")
            except WebSocketException as closed:
                LEDGER.record(101, f"route sweep {route.label}")
                return Answer(101, f"closed: {closed}")
            LEDGER.record(101, f"route sweep {route.label}")
            return Answer(101, "open")
    except InvalidStatus as refused:
        status = refused.response.status_code
        LEDGER.record(status, f"route sweep {route.label}")
        return Answer(
            status, refused.response.body.decode("utf-8", "replace") if refused.response.body else ""
        )
    except (OSError, WebSocketException) as error:
        LEDGER.record(None, f"route sweep {route.label}")
        return Answer(None, str(error))


def sweep_all(proxy: ProxyProcess, routes: list[Route], headers: dict[str, str]) -> dict[Route, Answer]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(lambda route: send(proxy, route, headers), routes))
    return dict(zip(routes, answers, strict=True))


def is_allowed(route: Route) -> bool:
    return route.kind == "http" and route.template in CLIENT_ROUTES


def is_open(route: Route) -> bool:
    return route.kind == "http" and route.template in OPEN_ROUTES


def refused_as_admin_only(route: Route, answer: Answer, status: int | None = None) -> bool:
    """Refused by the bundle's auth (with `status`, or any 401/403 when None)."""
    if route.kind == "websocket":  # refused before the handshake: the server answers 403
        return answer.status == 403
    expected = (status,) if status is not None else (401, 403)
    return answer.status in expected and ADMIN_ONLY_MARKER in answer.text


def assert_only_the_allow_list(
    answers: dict[Route, Answer], refusal: int, allowed_status: Callable[[int], bool], hygiene: Hygiene
) -> None:
    """Allow-listed routes answer as `allowed_status` says; every other one but the health
    probes is refused by the bundle with `refusal` before LiteLLM sees it; never a 5xx."""
    hangs = [route.label for route, answer in answers.items() if answer.status is None]
    assert not hangs, f"no answer within {REQUEST_TIMEOUT}s: {hangs[:20]}"
    server_errors: list[str] = []
    wrong: list[str] = []
    for route, answer in answers.items():
        hygiene.saw(answer.text)
        assert answer.status is not None
        if answer.status >= 500:
            server_errors.append(f"{answer.status} {route.label}: {answer.text[:120]}")
        if is_allowed(route):
            if not allowed_status(answer.status):
                wrong.append(f"allow-listed {route.label}: {answer.status} {answer.text[:120]}")
        elif not is_open(route) and not refused_as_admin_only(route, answer, refusal):
            wrong.append(f"{answer.status} {route.label}")
    assert not server_errors, f"{len(server_errors)} 5xx: {server_errors[:20]}"
    assert not wrong, f"{len(wrong)} routes answered outside the allow-list rules: {wrong[:30]}"


def test_the_route_table_is_read_from_litellm(sweep: Sweep) -> None:
    templates = {route.template for route in sweep.routes}
    assert len(sweep.routes) > 300  # LiteLLM 1.106 had about 700 routes
    assert CLIENT_ROUTES <= templates
    assert {"/openai/{endpoint:path}", "/anthropic/{endpoint:path}"} & templates
    assert {POOL_STATUS_PATH, USAGE_PATH} <= templates  # the bundle's own routes are swept too


def test_no_credential_proxy_token_and_master_key_on_every_route(sweep: Sweep, hygiene: Hygiene) -> None:
    routes = sweep.routes
    sweep.listener.requests.clear()
    anonymous = sweep_all(sweep.tokens_proxy, routes, {})
    with_token = sweep_all(sweep.tokens_proxy, routes, {"x-litellm-api-key": CLIENT_TOKEN})
    loopback = sweep_all(sweep.loopback_proxy, routes, {})
    forwarded = [f"{r.method} {r.path}" for r in sweep.listener.requests.all()]
    assert forwarded == [], f"non-admin requests reached a provider with the operator's key: {forwarded[:20]}"

    # No credential, tokens configured: 401 everywhere but the health probes.
    assert_only_the_allow_list(anonymous, 401, lambda status: status == 401, hygiene)
    # A proxy token: the allow-list is served, everything else is the admin's (403).
    assert_only_the_allow_list(with_token, 403, lambda status: status not in (401, 403), hygiene)
    # No token configured: a loopback client is served on the allow-list only.
    assert_only_the_allow_list(loopback, 401, lambda status: status not in (401, 403), hygiene)

    # The master key is never refused by the bundle's auth (LiteLLM answers the admin routes;
    # without a database several of them answer 500 "DB not connected", which is LiteLLM's).
    admin = sweep_all(sweep.tokens_proxy, routes, {"Authorization": f"Bearer {MASTER_KEY}"})
    assert sweep.listener.requests.all(), "the pass-through listener got nothing even from the admin"
    refused = [
        f"{a.status} {r.label}" for r, a in admin.items() if r.kind == "http" and refused_as_admin_only(r, a)
    ]
    assert not refused, f"the master key was refused: {refused[:20]}"
    assert all(answer.status is not None for answer in admin.values()), "the master key sweep hung"


def test_pass_through_routes_refuse_a_proxy_token_in_the_protocol(sweep: Sweep) -> None:
    """The two pass-throughs of the finding: a passthrough-only client's token, an expensive model."""
    sweep.listener.requests.clear()
    for path in ("/openai/v1/chat/completions", "/openrouter/v1/chat/completions", "/anthropic/v1/messages"):
        response = httpx.post(
            f"{sweep.tokens_proxy.url}{path}",
            json={**BODY, "model": "gpt-9-expensive"},
            headers={"x-litellm-api-key": CLIENT_TOKEN},
            timeout=REQUEST_TIMEOUT,
        )
        LEDGER.record_response(response, f"pass-through {path}")
        assert response.status_code == 403, response.text
        assert response.headers.get("x-should-retry") == "false"
        assert ADMIN_ONLY_MARKER in response.text
    assert sweep.listener.requests.all() == []


def test_sweep_log_has_no_operator_key(sweep: Sweep) -> None:
    for proxy in (sweep.tokens_proxy, sweep.loopback_proxy):
        assert OPERATOR_KEY not in proxy.log_text()
