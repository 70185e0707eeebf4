"""The comparison: the same Claude Code traffic through an unmodified LiteLLM config fails.

A stock proxy (no plugins, LiteLLM defaults) in front of the same strict chat-only fake:
- `openai/<model>` bridges `/v1/messages` to the Responses API, which a chat-only server 404s;
- `hosted_vllm/<model>` reaches chat completions but forwards Claude Code's `max_tokens`
  (64000) to a model that takes at most 8192, and gets a 400.
These tests pass when stock LiteLLM fails that way; the plugin suites show the same traffic
succeeding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import OPENAI_KEY, claude_code_request
from tests.e2e.claude_cli import run_claude
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stock_proxy(
    openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    config = {
        "model_list": [
            {
                "model_name": "claude-sonnet-4-5",
                "litellm_params": {
                    "model": "openai/deepseek-chat",
                    "api_base": openai_fake.api_base,
                    "api_key": OPENAI_KEY,
                },
            },
            {
                "model_name": "vllm-style",
                "litellm_params": {
                    "model": "hosted_vllm/deepseek-chat",
                    "api_base": openai_fake.api_base,
                    "api_key": OPENAI_KEY,
                },
            },
        ],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }
    process = ProxyProcess(config, tmp_path_factory.mktemp("stock"), name="stock").start()
    yield process
    process.stop()


def send_recorded(proxy: ProxyProcess, model: str) -> httpx.Response:
    recorded = claude_code_request()
    body = {**recorded["body"], "model": model, "stream": False}
    return httpx.post(
        f"{proxy.url}/v1/messages?beta=true",
        json=body,
        headers={**recorded["headers"], "x-litellm-api-key": MASTER_KEY},
        timeout=60,
    )


def test_stock_openai_deployment_goes_to_the_responses_api(
    stock_proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    response = send_recorded(stock_proxy, "claude-sonnet-4-5")
    assert response.status_code >= 400
    assert any(r.path.startswith("/v1/responses") for r in openai_fake.requests.all())


def test_stock_hosted_vllm_forwards_max_tokens_the_model_rejects(
    stock_proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    response = send_recorded(stock_proxy, "vllm-style")
    assert response.status_code == 400
    assert "max_tokens" in response.text
    [sent] = [r.body for r in openai_fake.requests.all() if r.path.endswith("/chat/completions")]
    assert sent["max_tokens"] == 64000


def test_stock_claude_code_plain_prompt_fails(stock_proxy: ProxyProcess, tmp_path: Path) -> None:
    run = run_claude(
        "Reply with the word pineapple",
        base_url=stock_proxy.url,
        workdir=tmp_path,
        env={
            "ANTHROPIC_API_KEY": "sk-ant-api03-e2e-client-key-never-forwarded-0000",
            "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {MASTER_KEY}",
            "ANTHROPIC_MODEL": "claude-sonnet-4-5",
            # Claude Code retries server errors; keep the failing run short.
            "CLAUDE_CODE_MAX_RETRIES": "0",
        },
        timeout=240,
    )
    assert "fake-openai" not in run.stdout
    assert run.returncode != 0 or "error" in (run.stdout + run.stderr).lower()
