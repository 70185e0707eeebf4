"""Usage per client and the metrics, through two real proxies sharing one real redis-server.

Two named clients send Anthropic and OpenAI requests through both proxies (the pool serving
the Anthropic group, one pooled token rate limited so the rotator fails over); the usage
report, from either proxy, matches exactly what the fakes served per client, group and pooled
token; `litellm-plugins usage` prints it; only the master key reads it; LiteLLM's `/metrics`
shows the bundle's metrics with names and fingerprints for labels and no credential.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from litellm_plugins.core.redaction import fingerprint
from tests.conftest import OPENAI_KEY
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.server import RecordedRequest
from tests.harness import MASTER_KEY, PLUGIN_CALLBACKS, REPO_ROOT, ProxyProcess, RedisServer, plugin_config

pytestmark = pytest.mark.integration

POOL = tuple(f"sk-ant-oat01-usage-pool-{i}-" + "u" * 40 for i in range(3))
ALICE = "usage-alice-token-" + "a" * 40
BOB = "usage-bob-token-" + "b" * 40
SECRETS = (ALICE, BOB, MASTER_KEY, OPENAI_KEY, *POOL)
SYSTEM = [
    {"type": "text", "text": "You are a careful assistant. " * 40, "cache_control": {"type": "ephemeral"}}
]
Key = tuple[str, str, str]  # client, group, token fingerprint


@dataclass
class Expected:
    """What the fakes served, per client, group and pooled token, and per proxy."""

    rows: dict[Key, Counter[str]] = field(default_factory=dict)
    per_proxy: Counter[tuple[str, str]] = field(default_factory=Counter)  # (proxy, client) -> requests

    def add(self, key: Key, proxy: str, served: RecordedRequest) -> None:
        usage = served.usage or {}
        row = self.rows.setdefault(key, Counter())
        row["requests"] += 1
        if "prompt_tokens" in usage:  # OpenAI
            row["input_tokens"] += usage["prompt_tokens"]
            row["output_tokens"] += usage["completion_tokens"]
        else:
            row["input_tokens"] += usage["input_tokens"]
            row["output_tokens"] += usage["output_tokens"]
            row["cache_read_tokens"] += usage["cache_read_input_tokens"]
            row["cache_write_tokens"] += usage["cache_creation_input_tokens"]
        self.per_proxy[(proxy, key[0])] += 1


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("usage-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caching_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=(), oauth_tokens=POOL, prompt_cache=True).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def proxies(
    redis_server: RedisServer,
    caching_anthropic: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, ProxyProcess]]:
    model_list = [
        {
            "model_name": "sonnet",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": caching_anthropic.url},
        },
        {
            "model_name": "deepseek",
            "litellm_params": {
                "model": "openai/deepseek-chat",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
        },
    ]
    config = plugin_config(
        model_list,
        fallbacks=[{"sonnet": ["deepseek"]}],
        callbacks=["prometheus", *PLUGIN_CALLBACKS],
        plugins={"anthropic_api_bases": [caching_anthropic.url]},
    )
    env = {
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "CLAUDE_TOKEN_MODE": "rotate",
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,bob:{BOB}:pool",
        "REDIS_URL": redis_server.url,
    }
    workdir = tmp_path_factory.mktemp("usage")
    with (
        ProxyProcess(config, workdir, env=env, name="usage-a") as first,
        ProxyProcess(config, workdir, env=env, name="usage-b") as second,
    ):
        yield {"a": first, "b": second}


def messages(
    proxy: ProxyProcess, token: str, *, text: str, cached: bool = False, stream: bool = False
) -> None:
    body: dict[str, Any] = {
        "model": "sonnet",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }
    if cached:
        body["system"] = SYSTEM
    headers = {"x-litellm-api-key": token, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text


def chat(proxy: ProxyProcess, token: str, *, text: str) -> None:
    body = {"model": "deepseek", "messages": [{"role": "user", "content": text}]}
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text


def usage_report(proxy: ProxyProcess, window: str = "total", key: str = MASTER_KEY) -> httpx.Response:
    return httpx.get(
        f"{proxy.url}/litellm_plugins/usage",
        params={"window": window},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def settled_report(proxy: ProxyProcess, requests: int, window: str = "total") -> dict[str, Any]:
    """The report once it counts `requests` (success events are logged after the response)."""
    deadline = time.monotonic() + 30
    while True:
        report = usage_report(proxy, window).json()
        counted = sum(row["requests"] for row in report["rows"])
        if counted >= requests or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def scrape(proxy: ProxyProcess) -> str:
    response = httpx.get(
        f"{proxy.url}/metrics/", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    return response.text


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def test_usage_per_client_matches_what_the_fakes_served_across_two_proxies(
    proxies: dict[str, ProxyProcess],
    caching_anthropic: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path: Path,
) -> None:
    expected = Expected()
    anthropic_seen = 0

    def served_by_anthropic(client: str, proxy: str) -> None:
        nonlocal anthropic_seen
        new = [r for r in caching_anthropic.requests.all() if r.path == "/v1/messages"][anthropic_seen:]
        anthropic_seen += len(new)
        [served] = [r for r in new if getattr(r, "status", None) == 200]
        expected.add((client, "sonnet", fingerprint(getattr(served, "credential", ""))), proxy, served)

    def served_by_openai(client: str, proxy: str) -> None:
        served = [r for r in openai_fake.requests.all() if r.path.endswith("/chat/completions")][-1]
        expected.add((client, "deepseek", "-"), proxy, served)

    first, second = proxies["a"], proxies["b"]
    messages(first, ALICE, text="cache me", cached=True)  # writes the system prompt to the cache
    served_by_anthropic("alice", "a")
    messages(second, ALICE, text="cache me again", cached=True)  # reads it, on the other proxy
    served_by_anthropic("alice", "b")
    messages(second, BOB, text="stream to bob", stream=True)
    served_by_anthropic("bob", "b")
    chat(first, ALICE, text="hello deepseek")
    served_by_openai("alice", "a")
    chat(second, BOB, text="hello deepseek from bob")
    served_by_openai("bob", "b")
    # One pooled token answers 429 from now on: the rotator fails over to another inside the
    # request, and the usage names the token that served.
    limited = POOL[0]
    caching_anthropic.rate_limit(limited, retry_after=600)
    for index in range(3):
        messages(first, BOB, text=f"bob after the limit {index}")
        served_by_anthropic("bob", "a")
    assert caching_anthropic.attempts(limited) > caching_anthropic.served(limited), (
        "no failover: nothing proven"
    )
    # Every pooled token limited: the group falls back to deepseek, which serves with its own key;
    # the usage names no pooled token for it, and the metrics count the fallback.
    for token in POOL:
        caching_anthropic.rate_limit(token, retry_after=600)
    messages(first, BOB, text="bob falls back")
    served_by_openai("bob", "a")
    rate_limited = {fingerprint(t): caching_anthropic.attempts(t) - caching_anthropic.served(t) for t in POOL}
    # A request no group serves: counted as an error of its client, under no group.
    refused = httpx.post(
        f"{first.url}/v1/chat/completions",
        json={"model": "no-such-group", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {BOB}"},
        timeout=60,
    )
    assert refused.status_code == 400, refused.text
    expected.rows[("bob", "-", "-")] = Counter(requests=1, errors=1)
    expected.per_proxy[("a", "bob")] += 1

    served_requests = sum(row["requests"] for row in expected.rows.values())
    report = settled_report(first, served_requests)
    got = {
        (row["client"], row["group"], row["token"]): Counter(
            {
                k: row[k]
                for k in (
                    "requests",
                    "errors",
                    "input_tokens",
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                )
                if row[k]
            }
        )
        for row in report["rows"]
    }
    assert got == {key: +row for key, row in expected.rows.items()}
    assert report["shared_state"] == "redis"
    cache_rows = [row for row in report["rows"] if row["cache_read_tokens"] or row["cache_write_tokens"]]
    assert cache_rows and all(row["client"] == "alice" for row in cache_rows)  # both cache kinds were seen
    assert sum(row["cache_read_tokens"] for row in cache_rows) > 0
    assert sum(row["cache_write_tokens"] for row in cache_rows) > 0
    # Either proxy answers the same counters, for each window (all of this happened this minute
    # or the one before, so the hour and today hold everything too).
    assert usage_report(second).json()["rows"] == report["rows"]
    for window in ("hour", "today"):
        assert settled_report(second, served_requests, window)["rows"] == report["rows"]

    # The command line prints the same, as a table and as JSON.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "PROXY_"))},
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "litellm_plugins.cli", "usage", "--url", first.url]
    command += ["--env-file", str(tmp_path / "none.env"), "--window", "total"]
    table = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    print(table)  # the closing note of issue 17 quotes this output (pytest -s)
    lines = table.splitlines()
    assert lines[0].startswith("usage total (since the counters started), shared state redis")
    for (client, group, token), row in expected.rows.items():
        assert [
            client, group, token, str(row["requests"]), str(row["errors"]), str(row["input_tokens"]),
            str(row["output_tokens"]), str(row["cache_read_tokens"]), str(row["cache_write_tokens"]),
        ] in [[*parts[:2], *parts[3:]] for parts in (line.split() for line in lines[2:-1])]  # fmt: skip
    assert lines[-1].split()[:2] == ["total", str(served_requests)]
    as_json = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(as_json.stdout)["rows"] == report["rows"]

    # The metrics: per proxy, labelled by names and fingerprints.
    text_a, text_b = scrape(first), scrape(second)
    for proxy_name, text in (("a", text_a), ("b", text_b)):
        requests = samples(text, "litellm_plugins_requests_total")
        for client in ("alice", "bob"):
            counted = sum(value for labels, value in requests if labels["client"] == client)
            assert counted == expected.per_proxy[(proxy_name, client)], (proxy_name, client)
    failovers: Counter[str] = Counter()
    for labels, value in samples(text_a, "litellm_plugins_failovers_total"):
        assert labels["status"] == "429"
        failovers[labels["token"]] += int(value)
    assert failovers == +Counter(rate_limited)
    cooling = {
        labels["token"]: value for labels, value in samples(text_a, "litellm_plugins_pool_token_cooling")
    }
    assert cooling == {fp: (1.0 if count else 0.0) for fp, count in rate_limited.items()}
    fallbacks = samples(text_a, "litellm_plugins_fallbacks_total")
    assert fallbacks == [({"client": "bob", "group": "sonnet", "to_group": "deepseek"}, 1.0)]
    tokens = samples(text_a, "litellm_plugins_tokens_total")
    assert {labels["type"] for labels, _ in tokens} >= {"input", "output", "cache_write"}
    assert "litellm_plugins_tokens_total" in text_b and 'type="cache_read"' in text_b

    # Not a single credential in what the operator sees.
    for text in (text_a, text_b, json.dumps(report), table, as_json.stdout):
        leaked = [fingerprint(secret) for secret in SECRETS if secret in text]
        assert not leaked, f"a credential in the usage output or the scrape: {leaked}"


def test_the_usage_route_is_the_master_keys(proxies: dict[str, ProxyProcess]) -> None:
    proxy = proxies["a"]
    assert usage_report(proxy, key=ALICE).status_code == 403  # a proxy token: the admin's route
    assert usage_report(proxy, key="not-the-master-key-" + "x" * 30).status_code == 401
    assert httpx.get(f"{proxy.url}/litellm_plugins/usage", timeout=10).status_code == 401
    refused = usage_report(proxy, window="week")
    assert refused.status_code == 400 and "hour, today, total" in refused.text
    assert (
        httpx.get(f"{proxy.url}/metrics/", headers={"x-litellm-api-key": ALICE}, timeout=10).status_code
        == 403
    )
    assert httpx.get(f"{proxy.url}/metrics/", timeout=10).status_code == 401
