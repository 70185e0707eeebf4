"""Every recipe in config.yaml.example, loaded in a real proxy with test secrets and its
upstreams pointed at the strict fakes, serves a Claude Code-style request (thinking on, a large
max_tokens), and `check` finds nothing wrong with it."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import yaml

from litellm_plugins.cli.config_check import check_config
from tests.fakes.anthropic_messages import DEFAULT_MODELS, AnthropicModelProfile, FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat, ModelProfile
from tests.harness import REPO_ROOT, ProxyProcess

pytestmark = pytest.mark.integration

PROXY_TOKEN = "recipes-proxy-token-" + "r" * 30
POOL = ("sk-ant-oat01-recipes-pool-" + "p" * 30,)
PROVIDER_KEYS = {
    "ZAI_API_KEY": "zai-test-key-" + "z" * 20,
    "KIMI_API_KEY": "kimi-test-key-" + "k" * 20,
    "DEEPSEEK_API_KEY": "sk-deepseek-test-" + "d" * 20,
    "OPENAI_API_KEY": "sk-openai-test-" + "o" * 20,
    "OPENROUTER_API_KEY": "sk-or-v1-test-" + "r" * 20,
}
OPENAI_MODELS = {
    "gpt-4.1": ModelProfile(max_output_tokens=32768),
    "google/gemini-2.5-pro": ModelProfile(
        max_output_tokens=65536, accepts_reasoning_effort=True, gemini_strict_schema=True
    ),
    "qwen2.5-coder:14b": ModelProfile(max_output_tokens=8192),
}
THIRD_PARTY_ANTHROPIC_MODELS = {
    "glm-4.6": AnthropicModelProfile(max_output_tokens=32768),
    "glm-4.5-air": AnthropicModelProfile(max_output_tokens=32768),
    "kimi-for-coding": AnthropicModelProfile(max_output_tokens=32768),
    "deepseek-chat": AnthropicModelProfile(max_output_tokens=8192),
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeAnthropic, FakeOpenAIChat]]:
    anthropic_fake = FakeAnthropic(
        api_keys=(
            PROVIDER_KEYS["ZAI_API_KEY"],
            PROVIDER_KEYS["KIMI_API_KEY"],
            PROVIDER_KEYS["DEEPSEEK_API_KEY"],
        ),
        oauth_tokens=POOL,
        models={**DEFAULT_MODELS, **THIRD_PARTY_ANTHROPIC_MODELS},
    ).start()
    openai_fake = FakeOpenAIChat(
        api_keys=(PROVIDER_KEYS["OPENAI_API_KEY"], PROVIDER_KEYS["OPENROUTER_API_KEY"], "ollama"),
        models=OPENAI_MODELS,
    ).start()
    yield anthropic_fake, openai_fake
    anthropic_fake.stop()
    openai_fake.stop()


def pointed_at_fakes(
    example: dict[str, Any], anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat
) -> dict[str, Any]:
    """The example with every upstream replaced by a fake; nothing else changes."""
    config = copy.deepcopy(example)
    for deployment in config["model_list"]:
        params = deployment["litellm_params"]
        if params["model"].startswith("anthropic/"):
            if "api_base" in params:  # a third-party Anthropic-compatible API: another host
                params["api_base"] = anthropic_fake.url.replace("127.0.0.1", "localhost")
            else:  # Anthropic's own API, played by the fake
                params["api_base"] = anthropic_fake.url
        elif not str(params.get("api_base", "")).startswith("os.environ/"):
            params["api_base"] = openai_fake.api_base
    config["litellm_plugins"]["anthropic_api_bases"] = [anthropic_fake.url]
    return config


@pytest.fixture(scope="module")
def recipes_proxy(
    fakes: tuple[FakeAnthropic, FakeOpenAIChat], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ProxyProcess, dict[str, Any]]]:
    anthropic_fake, openai_fake = fakes
    example = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())
    config = pointed_at_fakes(example, anthropic_fake, openai_fake)
    env = {
        **PROVIDER_KEYS,
        "OLLAMA_API_BASE": openai_fake.api_base,
        "PROXY_STATIC_TOKEN": PROXY_TOKEN,
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
    }
    workdir = tmp_path_factory.mktemp("recipes")
    problems = check_config(
        config,
        {**env, "LITELLM_MASTER_KEY": "sk-" + "m" * 40},
        str(workdir / "proxy.yaml"),
        lambda v, p: None,
    )
    assert problems == [], [p.render() for p in problems]
    process = ProxyProcess(config, workdir, env=env).start()
    yield process, config
    process.stop()


def groups() -> list[str]:
    example = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())
    return [deployment["model_name"] for deployment in example["model_list"]]


def recipes_client(
    proxy: ProxyProcess, fakes: tuple[FakeAnthropic, FakeOpenAIChat] | None = None
) -> anthropic.Anthropic:
    """The Anthropic SDK with the recipes' proxy token; with `fakes`, what they saw is cleared first."""
    for fake in fakes or ():
        fake.requests.clear()
    return anthropic.Anthropic(
        base_url=proxy.url,
        api_key="unused",
        default_headers={"x-litellm-api-key": PROXY_TOKEN},
        max_retries=0,
    )


def requested_model(group: str) -> str:
    return (
        "claude-sonnet-4-5"
        if group == "anthropic"
        else "claude-haiku-4-5"
        if group == "anthropic-fast"
        else group
    )


@pytest.mark.parametrize("group", groups())
def test_count_tokens_answers_for_every_recipe(
    group: str,
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]],
    fakes: tuple[FakeAnthropic, FakeOpenAIChat],
) -> None:
    """Anthropic-speaking recipes are counted by their endpoint (Anthropic's own with the pooled
    token); chat-only ones get LiteLLM's local estimate instead of a 404 for /responses/input_tokens."""
    proxy, config = recipes_proxy
    anthropic_fake, openai_fake = fakes
    client = recipes_client(proxy, fakes)
    response = client.messages.with_raw_response.count_tokens(
        model=requested_model(group),
        system="You are Claude Code.",
        messages=[{"role": "user", "content": f"count these words for {group} please"}],
    )
    assert response.http_response.status_code == 200
    assert response.parse().input_tokens > 0
    source = response.http_response.json()["litellm_count_source"]
    [deployment] = [d for d in config["model_list"] if d["model_name"] == group]
    counted_upstream = [
        r for fake in (anthropic_fake, openai_fake) for r in fake.requests.all() if r.method == "POST"
    ]
    if deployment["litellm_params"]["model"].startswith("anthropic/"):
        assert source == "provider"
        [request] = counted_upstream
        assert request.path == "/v1/messages/count_tokens"
        assert request.body["model"] == (
            requested_model(group)
            if group.startswith("anthropic")
            else deployment["litellm_params"]["model"].split("/", 1)[1]
        )
        if group.startswith("anthropic"):
            assert request.credential == POOL[0]  # rotate mode: a pooled token, as /v1/messages
        else:
            assert "sk-ant-" not in json.dumps(request.headers)
    else:
        assert source == "local_estimate"
        assert counted_upstream == []  # nothing asked of a chat-only server


@pytest.mark.parametrize("group", groups())
def test_every_recipe_serves_a_claude_code_style_request(
    group: str,
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]],
    fakes: tuple[FakeAnthropic, FakeOpenAIChat],
) -> None:
    proxy, config = recipes_proxy
    anthropic_fake, openai_fake = fakes
    client = recipes_client(proxy, fakes)
    model = requested_model(group)
    with client.messages.stream(  # streaming, as Claude Code always is
        model=model,
        max_tokens=64000,
        thinking={"type": "enabled", "budget_tokens": 31999},
        messages=[{"role": "user", "content": f"hello {group}"}],
    ) as stream:
        message = stream.get_final_message()
    assert message.content[-1].text.endswith(f"hello {group}")
    [deployment] = [d for d in config["model_list"] if d["model_name"] == group]
    upstream = deployment["litellm_params"]["model"].split("/", 1)[1]
    received = [
        r for fake in (anthropic_fake, openai_fake) for r in fake.requests.all() if r.method == "POST"
    ]
    assert len(received) == 1, [r.path for r in received]
    [request] = received
    assert request.body["model"] == (model if upstream == "*" else upstream)
    assert request.body.get("max_tokens", 0) <= deployment["model_info"]["max_output_tokens"]
    if deployment["litellm_params"].get("api_base") != anthropic_fake.url:  # not Anthropic's own API
        assert "sk-ant-" not in json.dumps(request.headers)  # no Claude credential outside Anthropic
    if group.startswith("anthropic"):
        assert request.credential == POOL[0]  # rotate mode: the pooled token


def test_claude_code_settings_groups_are_reachable_by_alias(
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]], tmp_path: Path
) -> None:
    _, config = recipes_proxy
    assert config["litellm_plugins"]["model_aliases"] == {
        "claude-*haiku*": "anthropic-fast",
        "claude-*": "anthropic",
    }


def test_the_shipped_garbage_collection_settings_take_effect(
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]],
) -> None:
    """Thresholds at startup; startup objects frozen after the first POST (the recipes above)."""
    proxy, config = recipes_proxy
    shipped = config["litellm_plugins"]["garbage_collection"]
    assert shipped == {"freeze_after_startup": True, "thresholds": [20000, 50, 100]}
    client = recipes_client(proxy)
    client.messages.create(model="glm", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    log = proxy.log_text()
    assert "garbage collection: thresholds set to (20000, 50, 100)" in log
    frozen = [line for line in log.splitlines() if "startup objects frozen after the first request" in line]
    assert len(frozen) == 1, frozen
    assert int(frozen[0].split("garbage collection: ")[1].split()[0]) > 100_000


CLAUDE_CODE_LISTING_HEADERS = {
    "x-litellm-api-key": PROXY_TOKEN,
    "anthropic-version": "2023-06-01",
    "user-agent": "claude-cli/2.1.197 (external, cli)",
}


def claude_code_picker(proxy: ProxyProcess) -> dict[str, str]:
    """What Claude Code's /model picker gets with gateway model discovery on: picker id -> group.

    LiteLLM's own listing (Anthropic's shape for Claude Code; groups without "claude" in their
    name as `claude-router-<hex>`), through the bundle's auth."""
    response = httpx.get(
        f"{proxy.url}/v1/models", params={"limit": 1000}, headers=CLAUDE_CODE_LISTING_HEADERS, timeout=30
    )
    assert response.status_code == 200, response.text
    entries = response.json()["data"]
    assert all(entry["type"] == "model" for entry in entries)
    # Claude Code keeps only ids containing "claude" or "anthropic".
    assert all(re.search("claude|anthropic", entry["id"], re.IGNORECASE) for entry in entries)
    return {entry["id"]: entry["source_model"] for entry in entries}


def test_claude_code_picker_lists_every_live_group(
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]],
) -> None:
    proxy, _ = recipes_proxy
    assert sorted(claude_code_picker(proxy).values()) == sorted(groups())


def test_each_picker_id_reaches_its_group_through_the_bundle(
    recipes_proxy: tuple[ProxyProcess, dict[str, Any]], fakes: tuple[FakeAnthropic, FakeOpenAIChat]
) -> None:
    """A `claude-router-<hex>` id is decoded to its group before the bundle's `claude-*` alias
    could send it to Anthropic, on /v1/messages and on count_tokens alike."""
    proxy, config = recipes_proxy
    anthropic_fake, openai_fake = fakes
    client = recipes_client(proxy)
    for picker_id, group in claude_code_picker(proxy).items():
        if group.startswith("anthropic"):
            continue  # a group name on a wildcard deployment: Claude ids go there by alias
        [deployment] = [d for d in config["model_list"] if d["model_name"] == group]
        upstream_model = deployment["litellm_params"]["model"].split("/", 1)[1]
        for call in ("create", "count_tokens"):
            anthropic_fake.requests.clear()
            openai_fake.requests.clear()
            messages = [{"role": "user", "content": f"picked {group}"}]
            if call == "create":
                client.messages.create(model=picker_id, max_tokens=64, messages=messages)  # type: ignore[arg-type]
            else:
                client.messages.count_tokens(model=picker_id, messages=messages)  # type: ignore[arg-type]
            received = [
                r for fake in (anthropic_fake, openai_fake) for r in fake.requests.all() if r.method == "POST"
            ]
            if call == "count_tokens" and not deployment["litellm_params"]["model"].startswith("anthropic/"):
                assert received == [], (picker_id, group)  # estimated locally for its group
                continue
            assert [r.body["model"] for r in received] == [upstream_model], (picker_id, group, call)
