"""Claude Code's `/model` picker through the real proxy with the bundle's auth: the listing
Claude Code asks for (`GET /v1/models?limit=1000`, LiteLLM's Anthropic-shaped answer) names every
live group under an id Claude Code keeps, with its display name, and each id reaches its group."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from litellm_plugins.cli import claude_picker
from tests.conftest import openai_deployment
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

TOKEN = "picker-proxy-token-" + "k" * 30
# What Claude Code 2.1.332 keeps from the listing (its gateway discovery filter).
CLAUDE_CODE_KEEPS = re.compile(r"claude|anthropic", re.IGNORECASE)
# group -> (fake model, display name)
GROUPS = {
    "deepseek": ("deepseek-chat", "DeepSeek V3"),
    "glm-fast": ("gemini-strict", "GLM-4.5-Air"),
    "claude-main": ("gpt-reasoning", "Main (reasoning)"),
}
ALIASES = {"claude-*haiku*": "glm-fast", "claude-*": "claude-main"}


def model_list(fake: FakeOpenAIChat) -> list[dict]:
    return [
        openai_deployment(group, model, fake.api_base, display_name=name, max_input_tokens=128000)
        for group, (model, name) in GROUPS.items()
    ]


@pytest.fixture(scope="module")
def picker_proxy(
    openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    config = plugin_config(model_list(openai_fake), aliases=ALIASES)
    with ProxyProcess(config, tmp_path_factory.mktemp("picker"), env={"PROXY_STATIC_TOKEN": TOKEN}) as proxy:
        yield proxy


def claude_code_listing(proxy: ProxyProcess, **headers: str) -> httpx.Response:
    """The request Claude Code sends for its picker (its headers, the proxy token as its credential)."""
    return httpx.get(
        f"{proxy.url}/v1/models",
        params={"limit": 1000},
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "x-litellm-api-key": TOKEN,
            "anthropic-version": "2023-06-01",
            "User-Agent": "claude-cli/2.1.332 (external, cli)",
            **headers,
        },
        timeout=30,
    )


def ask(proxy: ProxyProcess, model: str) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/v1/messages",
        headers={"x-litellm-api-key": TOKEN, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "which model?"}]},
        timeout=60,
    )


def test_every_live_group_is_listed_under_an_id_claude_code_keeps_with_its_display_name(
    picker_proxy: ProxyProcess,
) -> None:
    response = claude_code_listing(picker_proxy)
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    assert all(CLAUDE_CODE_KEEPS.search(row["id"]) for row in listed), listed
    assert sorted(row["display_name"] for row in listed) == sorted(name for _, name in GROUPS.values())
    assert {row["id"] for row in listed} >= {"claude-main"}  # a Claude-like name is listed as it is


def test_each_listed_id_and_each_settings_row_reaches_its_own_group(
    picker_proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    listed = {row["display_name"]: row["id"] for row in claude_code_listing(picker_proxy).json()["data"]}
    rows = claude_picker.picker_rows(plugin_config(model_list(openai_fake), aliases=ALIASES))
    assert [row["label"] for row in rows] == [name for _, name in GROUPS.values()]
    for row in rows:
        model, _ = GROUPS[row["model"]]
        # `claude-router-<hex>` would match the `claude-*` alias if LiteLLM did not map it back to
        # its group before the transformer ran: each id must reach its own group, not claude-main.
        for picked in (listed[row["label"]], row["model"]):
            answer = ask(picker_proxy, picked)
            assert answer.status_code == 200, answer.text
            assert f"fake-openai {model} says" in answer.json()["content"][0]["text"], (picked, answer.text)
    glm = next(row for row in rows if row["model"] == "glm-fast")
    assert glm["behavesAs"].startswith("claude-haiku-")  # the aliases send haiku ids to it


def test_the_listing_needs_a_proxy_token(picker_proxy: ProxyProcess) -> None:
    response = httpx.get(
        f"{picker_proxy.url}/v1/models",
        params={"limit": 1000},
        headers={"Authorization": "Bearer not-the-token-" + "x" * 30, "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert response.status_code == 401, response.text
    assert TOKEN not in response.text
