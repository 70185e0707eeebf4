"""The claude-code provider in the real proxy: the real claude-agent-sdk runs the real Claude Code
CLI, which calls the strict Anthropic fake with a token leased from the bundle's pool.

The fake runs with `require_claude_code=True`: an OAuth request that does not carry Claude Code's
identity (its user agent, beta and system prompt) is refused, as the real API refuses a
subscription token used by anything else. So every answer below could only come from Claude Code,
and the same request through the plain pool route is refused (the last check of that).

The tests that cool pooled tokens run last: the proxy's pool remembers a cooldown.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from litellm_plugins.core.redaction import fingerprint
from litellm_plugins.rotator.unified_limits import JITTER_FRACTION
from tests.fakes.anthropic_messages import (
    CLAUDE_CODE_ONLY,
    FakeAnthropic,
    Fault,
    Reply,
    estimate_input_tokens,
)
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

POOL = tuple(f"sk-ant-oat01-claude-code-{i}-" + "q" * 40 for i in range(2))
ALICE = "alice-token-" + "c" * 40
MAX_PROCESSES = 2
MAX_QUEUE = 1
TIMEOUT_SECONDS = 40
SCRATCH = os.path.join(tempfile.gettempdir(), "litellm-claude-code-")
CLAUDE_CODE_UA = re.compile(r"^claude-cli/\d+\.\d+\.\d+ ")


def _sdk_installed() -> None:
    try:
        import claude_agent_sdk  # noqa: F401
    except ImportError as error:  # a clear failure, not a skip: CI installs the extra
        raise RuntimeError(
            "claude-agent-sdk is missing: install the bundle with its claude-code extra "
            "(pip install -e '.[test,claude-code]'; scripts/test.sh does)"
        ) from error


@pytest.fixture(scope="module")
def strict_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=POOL, require_claude_code=True).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def claude_code_proxy(
    strict_fake: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    _sdk_installed()
    model_list = [
        {
            "model_name": "claude-code-sonnet",
            "litellm_params": {"model": "claude-code/claude-sonnet-4-5", "api_base": strict_fake.url},
        },
        {  # the plain pool route: LiteLLM's own translation with a pooled token
            "model_name": "pool-sonnet",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": strict_fake.url},
        },
    ]
    config = plugin_config(
        model_list,
        extra_litellm_settings={
            "custom_provider_map": [
                {"provider": "claude-code", "custom_handler": "litellm_plugins.hooks.claude_code_provider"}
            ]
        },
        plugins={"anthropic_api_bases": [strict_fake.url]},
    )
    env = {
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "CLAUDE_TOKEN_MODE": "rotate",
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool",
        "CLAUDE_CODE_PROVIDER_MAX_PROCESSES": str(MAX_PROCESSES),
        "CLAUDE_CODE_PROVIDER_MAX_QUEUE": str(MAX_QUEUE),
        "CLAUDE_CODE_PROVIDER_QUEUE_SECONDS": "120",
        "CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    }
    process = ProxyProcess(
        config, tmp_path_factory.mktemp("claude-code"), env=env, name="claude-code"
    ).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _reset_fake(strict_fake: FakeAnthropic) -> Iterator[None]:
    strict_fake.requests.clear()
    strict_fake.faults.clear()
    strict_fake.stream_delay = 0.0
    yield
    strict_fake.stream_delay = 0.0
    strict_fake.faults.clear()
    for token in POOL:
        strict_fake.set_credential_fault(token, None)


def client(proxy: ProxyProcess, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=ALICE, max_retries=0, timeout=180, **options)


def served_requests(fake: FakeAnthropic) -> list[Any]:
    return [r for r in fake.requests.all() if r.path == "/v1/messages" and r.status == 200]


def claude_code_processes() -> list[int]:
    """Live Claude Code processes the provider started: their working directory is its scratch dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if cwd.startswith(SCRATCH) and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(condition: Any, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


# -- answers -------------------------------------------------------------------------------------
def test_a_chat_completion_is_answered_by_claude_code(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    reply = client(claude_code_proxy).chat.completions.create(
        model="claude-code-sonnet", messages=[{"role": "user", "content": "hello from an OpenAI client"}]
    )
    text = reply.choices[0].message.content
    assert text == "fake-anthropic claude-sonnet-4-5 says: hello from an OpenAI client"
    assert reply.choices[0].finish_reason == "stop"
    [upstream] = served_requests(strict_fake)
    assert CLAUDE_CODE_UA.match(upstream.header("user-agent") or "")
    assert "claude-code-20250219" in upstream.betas and "oauth-2025-04-20" in upstream.betas
    assert upstream.credential in POOL
    assert upstream.body["tools"] == []  # Claude Code's own tools are off
    # Usage is the API's, as Claude Code reported it.
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == estimate_input_tokens(upstream.body)
    assert reply.usage.completion_tokens == Reply(text=text).output_tokens
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_streaming_arrives_token_by_token(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    stream = client(claude_code_proxy).chat.completions.create(
        model="claude-code-sonnet",
        messages=[{"role": "user", "content": "stream this reply to me please"}],
        stream=True,
    )
    pieces = [
        chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content
    ]
    assert "".join(pieces) == "fake-anthropic claude-sonnet-4-5 says: stream this reply to me please"
    # The fake streams the reply in `chunk_count` deltas; each reached the client as its own chunk.
    assert len(pieces) == strict_fake.chunk_count


def test_the_system_prompt_follows_claude_codes_identity(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    client(claude_code_proxy).chat.completions.create(
        model="claude-code-sonnet",
        messages=[
            {"role": "system", "content": "You answer like a pirate."},
            {"role": "user", "content": "hi"},
        ],
    )
    [upstream] = served_requests(strict_fake)
    texts = [block["text"] for block in upstream.body["system"]]
    assert texts[-1] == "You answer like a pirate."
    assert any(
        text.startswith("You are a Claude agent, built on Anthropic's Claude Agent SDK.") for text in texts
    )


def test_multi_turn_history_reaches_the_api_as_turns(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    reply = client(claude_code_proxy).chat.completions.create(
        model="claude-code-sonnet",
        messages=[
            {"role": "user", "content": "my name is Ada"},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "what is my name?"},
        ],
    )
    assert reply.choices[0].message.content.endswith("what is my name?")
    [upstream] = served_requests(strict_fake)
    messages = upstream.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] in ("my name is Ada", [{"type": "text", "text": "my name is Ada"}])
    assert messages[1]["content"] == [{"type": "text", "text": "Hello Ada."}]
    assert messages[2]["content"][-1]["text"] == "what is my name?"


def test_anthropic_messages_clients_are_served_too(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    sdk = anthropic.Anthropic(base_url=claude_code_proxy.url, api_key=ALICE, max_retries=0, timeout=180)
    message = sdk.messages.create(
        model="claude-code-sonnet", max_tokens=1024, messages=[{"role": "user", "content": "via messages"}]
    )
    assert message.content[0].text == "fake-anthropic claude-sonnet-4-5 says: via messages"
    assert len(served_requests(strict_fake)) == 1


def test_tools_are_refused_with_the_limitation_named(claude_code_proxy: ProxyProcess) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(claude_code_proxy).chat.completions.create(
            model="claude-code-sonnet",
            messages=[{"role": "user", "content": "what is the weather"}],
            tools=[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
        )
    assert refused.value.status_code == 400
    assert "does not support tools" in str(refused.value)
    assert "Traceback" not in str(refused.value)


# -- processes -----------------------------------------------------------------------------------
def test_a_client_that_disconnects_mid_stream_ends_the_process(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    strict_fake.stream_delay = 3.0  # four deltas: about 12 s of streaming
    assert claude_code_processes() == []
    body = {
        "model": "claude-code-sonnet",
        "stream": True,
        "messages": [{"role": "user", "content": "a long answer that the client will not wait for"}],
    }
    headers = {"authorization": f"Bearer {ALICE}"}
    with (
        httpx.Client(timeout=120) as http,
        http.stream("POST", f"{claude_code_proxy.url}/v1/chat/completions", json=body, headers=headers) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            if '"content":"fake' in line.replace(" ", ""):
                break  # the first token arrived: Claude Code is streaming
        running = claude_code_processes()
        assert running, "no Claude Code process while its answer streams"
        # The process's environment: its one leased token, nothing else of the proxy's.
        environ = Path(f"/proc/{running[0]}/environ").read_bytes().split(b"\0")
        values = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        assert values.get("CLAUDE_CODE_OAUTH_TOKEN") in POOL
        assert values.get("CLAUDE_OAUTH_TOKENS", "") == ""
        assert MASTER_KEY not in b"\0".join(environ).decode()
        assert values["HOME"].startswith(SCRATCH)
    assert wait_until(lambda: claude_code_processes() == [], 30), claude_code_processes()


def test_a_run_past_its_timeout_is_killed_and_answered_408(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    strict_fake.add_fault(Fault(kind="stall", seconds=TIMEOUT_SECONDS + 30))
    with pytest.raises(openai.APIStatusError) as timed_out:
        client(claude_code_proxy).chat.completions.create(
            model="claude-code-sonnet", messages=[{"role": "user", "content": "never answered in time"}]
        )
    assert timed_out.value.status_code == 408
    assert "CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS" in str(timed_out.value)
    assert wait_until(lambda: claude_code_processes() == [], 30), claude_code_processes()


def test_requests_above_the_bound_queue_then_are_refused(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    for _ in range(MAX_PROCESSES):
        strict_fake.add_fault(Fault(kind="stall", seconds=15))
    sdk = client(claude_code_proxy)
    results: dict[int, Any] = {}

    def ask(number: int) -> None:
        try:
            sdk.chat.completions.create(
                model="claude-code-sonnet", messages=[{"role": "user", "content": f"request {number}"}]
            )
            results[number] = 200
        except openai.APIStatusError as error:
            results[number] = error

    workers = []
    for number in range(MAX_PROCESSES):
        workers.append(threading.Thread(target=ask, args=(number,)))
        workers[-1].start()
    # Both processes are running once both requests reached the fake (and stall there).
    assert wait_until(lambda: len(strict_fake.requests.all()) >= MAX_PROCESSES, 60)
    queued = threading.Thread(target=ask, args=(MAX_PROCESSES,))
    queued.start()
    workers.append(queued)
    time.sleep(1.0)  # the queued request is in line (nothing frees a slot for 15 s)
    ask(MAX_PROCESSES + 1)
    refused = results[MAX_PROCESSES + 1]
    assert isinstance(refused, openai.APIStatusError) and refused.status_code == 429
    assert "CLAUDE_CODE_PROVIDER_MAX_QUEUE" in str(refused)
    assert refused.response.headers.get("retry-after")
    for worker in workers:
        worker.join(timeout=120)
    assert [results[n] for n in range(MAX_PROCESSES + 1)] == [200] * (MAX_PROCESSES + 1)


# -- the proof that it is Claude Code ------------------------------------------------------------
def test_the_same_request_without_claude_code_is_refused_by_the_strict_fake(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        client(claude_code_proxy).chat.completions.create(
            model="pool-sonnet", messages=[{"role": "user", "content": "hello from an OpenAI client"}]
        )
    [upstream] = [r for r in strict_fake.requests.all() if r.path == "/v1/messages"]
    assert (
        upstream.credential in POOL and upstream.status == 400
    )  # a pooled token, refused as not Claude Code
    assert CLAUDE_CODE_ONLY in str(refused.value)


# -- the pool: failover, exhaustion (last: they leave tokens cooling) ----------------------------
def test_a_rate_limited_token_fails_over_to_the_next(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    strict_fake.rate_limit(POOL[0], retry_after=600)
    sdk = client(claude_code_proxy)
    for number in range(3):  # balanced leasing: within two requests POOL[0] is tried
        reply = sdk.chat.completions.create(
            model="claude-code-sonnet", messages=[{"role": "user", "content": f"failover {number}"}]
        )
        assert reply.choices[0].message.content.endswith(f"failover {number}")
        if strict_fake.attempts(POOL[0]):
            break
    assert strict_fake.attempts(POOL[0]) == 1 and strict_fake.served(POOL[0]) == 0
    assert strict_fake.served(POOL[1]) >= 1
    assert f"token {fingerprint(POOL[0])} answered HTTP 429" in claude_code_proxy.log_text()


def test_every_token_cooling_is_a_429_with_retry_after(
    claude_code_proxy: ProxyProcess, strict_fake: FakeAnthropic
) -> None:
    for token in POOL:
        strict_fake.rate_limit(token, retry_after=600)
    with pytest.raises(openai.RateLimitError) as limited:
        client(claude_code_proxy).chat.completions.create(
            model="claude-code-sonnet", messages=[{"role": "user", "content": "nobody can answer"}]
        )
    retry_after = limited.value.response.headers.get("retry-after")
    # The pool adds up to 5% of jitter to a rate limit's reset, so replicas do not all retry at once.
    assert retry_after and 1 <= int(retry_after) <= 600 * (1 + JITTER_FRACTION) + 1
    assert "Every credential in the claude pool is rate limited" in str(limited.value)


# -- credential hygiene --------------------------------------------------------------------------
def test_no_log_holds_a_pooled_token(claude_code_proxy: ProxyProcess) -> None:
    log = claude_code_proxy.log_text()
    assert fingerprint(POOL[0]) in log  # the log does name tokens, by fingerprint
    for token in (*POOL, ALICE, MASTER_KEY):
        assert token not in log
    assert claude_code_processes() == []  # and nothing left running
