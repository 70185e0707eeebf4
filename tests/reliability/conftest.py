"""The reliability suite's proxy: every plugin on, upstreams played by the strict fakes, and a
hygiene scan of everything the suite saw (proxy log, response bodies, what the non-Anthropic
fake received) for credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import OPENAI_KEY
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

POOL = tuple(f"sk-ant-oat01-reliability-{i}-" + "q" * 36 for i in range(3))
CLIENT_TOKEN = "reliability-client-token-" + "c" * 30
CLIENT_OAUTH = "sk-ant-oat01-reliability-client-" + "o" * 30
# Every plugin, in the order config.yaml.example ships (tests/unit/test_startup.py asserts it).
ALL_PLUGINS = [
    "litellm_plugins.hooks.request_transformer",
    "litellm_plugins.hooks.client_limits",
    "litellm_plugins.hooks.token_rotator",
    "litellm_plugins.hooks.upstream_guard",
    "litellm_plugins.hooks.thinking_stripper",
    "litellm_plugins.hooks.request_log",
]
SECRETS = (*POOL, CLIENT_TOKEN, CLIENT_OAUTH, MASTER_KEY, OPENAI_KEY)


def all_plugin_callbacks() -> list[str]:
    return list(ALL_PLUGINS)


class Hygiene:
    """Collects what clients saw, to scan for credentials at the end of the session."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def saw(self, text: str) -> None:
        self.bodies.append(text)


@pytest.fixture(scope="session")
def hygiene() -> Hygiene:
    return Hygiene()


@pytest.fixture(scope="session")
def reliability_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=(*POOL, CLIENT_OAUTH)).start()
    yield fake
    fake.stop()


def reliability_config(anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat) -> dict[str, Any]:
    model_list = [
        {"model_name": "claude", "litellm_params": {"model": "anthropic/*", "api_base": anthropic_fake.url}},
        {
            "model_name": "chat",
            "litellm_params": {
                "model": "openai/deepseek-chat",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
            "model_info": {"max_output_tokens": 8192},
        },
    ]
    return plugin_config(
        model_list,
        aliases={"claude-*": "claude"},
        callbacks=all_plugin_callbacks(),
        plugins={"anthropic_api_bases": [anthropic_fake.url]},
    )


def reliability_env() -> dict[str, str]:
    # DEBUG: the rotator logs each lease with its time, so the suite can check none fell in a cooldown.
    return {
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "PROXY_STATIC_TOKEN": CLIENT_TOKEN,
        "LITELLM_PLUGINS_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture(scope="session")
def reliability_proxy(
    reliability_anthropic: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path_factory: pytest.TempPathFactory,
    hygiene: Hygiene,
) -> Iterator[ProxyProcess]:
    process = ProxyProcess(
        reliability_config(reliability_anthropic, openai_fake),
        tmp_path_factory.mktemp("reliability"),
        env=reliability_env(),
        name="reliability",
    ).start()
    yield process
    process.stop()
    leaks = [secret for secret in SECRETS if secret in process.log_text()]
    leaks += [secret for secret in SECRETS for body in hygiene.bodies if secret in body]
    for request in openai_fake.requests.all():
        dump = json.dumps(request.headers) + request.raw.decode("utf-8", "replace")
        leaks += [s for s in (*POOL, CLIENT_OAUTH, CLIENT_TOKEN, MASTER_KEY) if s in dump]
        if "sk-ant-" in dump:
            leaks.append("sk-ant- reached the OpenAI-compatible fake")
    assert not leaks, f"credentials leaked: {[leak[:12] + '...' for leak in leaks]}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The suite's own counts (tests/reliability/ledger.py), printed at the end of every run."""
    from tests.reliability.ledger import LEDGER

    if LEDGER.requests:
        terminalreporter.write_line(LEDGER.summary())
