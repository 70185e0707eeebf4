"""Shared fixtures: fake upstreams on 127.0.0.1 and one real proxy per test session.

The session proxy serves every integration test that does not need its own config; its
config wires the plugins exactly as `config.yaml.example` does, with upstreams pointed at the
fakes. Proxy startup takes ~10 s, so tests share it.
"""

from __future__ import annotations

import os

# Before anything imports litellm: never wait on the network for the model cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, REPO_ROOT, STARTED_PROXIES, ProxyProcess, plugin_config

OPENAI_KEY = "sk-fake-openai-key"
FIXTURES = REPO_ROOT / "tests" / "fixtures"


def claude_code_request() -> dict[str, Any]:
    """The request Claude Code 2.x really sends (recorded), minus its credentials."""
    recorded = json.loads((FIXTURES / "claude_code_request.json").read_text(encoding="utf-8"))
    headers = {
        k: v
        for k, v in recorded["headers"].items()
        if k.lower() not in ("authorization", "x-litellm-api-key")
    }
    return {"headers": headers, "body": recorded["body"]}


@pytest.fixture(scope="session")
def openai_fake() -> Iterator[FakeOpenAIChat]:
    fake = FakeOpenAIChat(api_keys=(OPENAI_KEY,)).start()
    yield fake
    fake.stop()


def openai_deployment(group: str, model: str, api_base: str, **model_info: Any) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {"model": f"openai/{model}", "api_base": api_base, "api_key": OPENAI_KEY},
        "model_info": model_info,
    }


def session_model_list(openai_fake: FakeOpenAIChat) -> list[dict[str, Any]]:
    base = openai_fake.api_base
    return [
        openai_deployment("default", "deepseek-chat", base, max_output_tokens=8192, supports_reasoning=False),
        openai_deployment(
            "reasoner", "gpt-reasoning", base, max_output_tokens=32768, supports_reasoning=True
        ),
        openai_deployment("deepseek-reasoner", "deepseek-reasoner", base, max_output_tokens=8192),
        openai_deployment("fast", "gemini-strict", base, max_output_tokens=8192, tool_schema="gemini"),
        # A group whose only deployment cannot be reached: its fallback group must serve.
        openai_deployment("flaky", "deepseek-chat", "http://127.0.0.1:9/v1", max_output_tokens=8192),
    ]


SESSION_ALIASES = {"claude-*haiku*": "fast", "claude-*": "default"}
SESSION_FALLBACKS = [{"flaky": ["default"]}]


@pytest.fixture(scope="session")
def proxy(openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    config = plugin_config(
        session_model_list(openai_fake), aliases=SESSION_ALIASES, fallbacks=SESSION_FALLBACKS
    )
    process = ProxyProcess(config, tmp_path_factory.mktemp("proxy")).start()
    yield process
    process.stop()


# A whole Claude credential (the bundle logs only `sk-ant-xxxx***` or a fingerprint).
CLAUDE_CREDENTIAL = re.compile(r"sk-ant-(?:oat|ort|api)\d\d-[A-Za-z0-9_\-]{12,}")  # ort: refresh tokens


@pytest.fixture(scope="session", autouse=True)
def _no_credential_in_any_proxy_log() -> Iterator[None]:
    """Credential hygiene across the whole session: every proxy's log output is scanned."""
    yield
    leaks = []
    for proxy in STARTED_PROXIES:
        for match in CLAUDE_CREDENTIAL.finditer(proxy.log_text()):
            leaks.append(f"{proxy.log_path.name}: {match.group(0)[:16]}...")
    assert not leaks, f"Claude credentials in proxy logs: {leaks[:10]}"


@pytest.fixture()
def anthropic_headers() -> dict[str, str]:
    return {"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture(autouse=True)
def _clear_fake_logs(request: pytest.FixtureRequest) -> None:
    if "openai_fake" in request.fixturenames:
        request.getfixturevalue("openai_fake").requests.clear()


__all__ = ["MASTER_KEY", "OPENAI_KEY", "Path", "claude_code_request"]
