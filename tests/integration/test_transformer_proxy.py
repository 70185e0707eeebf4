"""The request transformer in the real proxy, driven by the official SDKs, against the strict
chat-only OpenAI-compatible fake. Each test asserts what the client got and what the provider
received."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import claude_code_request, session_model_list
from tests.fakes.openai_chat import FakeOpenAIChat, Fault
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

# A 1x1 PNG.
PNG_1X1 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def anthropic_client(proxy: ProxyProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=MASTER_KEY, max_retries=0, timeout=60)


def chat_requests(fake: FakeOpenAIChat) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests.all() if r.path.endswith("/chat/completions")]


def post_messages(proxy: ProxyProcess, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", **(headers or {})}
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(
        f"{proxy.url}/v1/messages",
        content=content,
        headers={"content-type": "application/json", **sent},
        timeout=60,
    )


def test_claude_code_recorded_request_non_streaming(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    recorded = claude_code_request()
    body = {**recorded["body"], "stream": False}
    response = httpx.post(
        f"{proxy.url}/v1/messages?beta=true",
        json=body,
        headers={**recorded["headers"], "x-litellm-api-key": MASTER_KEY},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"].startswith("fake-openai deepseek-chat says:")
    [sent] = chat_requests(openai_fake)
    assert sent["model"] == "deepseek-chat"  # claude-sonnet-5 -> `default` by the claude-* alias
    assert sent["max_tokens"] == 8192  # 64000 clamped to model_info.max_output_tokens
    assert "reasoning_effort" not in sent and "thinking" not in sent
    assert len(sent["tools"]) == len(body["tools"])
    assert all("$schema" not in tool["function"]["parameters"] for tool in sent["tools"])


def test_claude_code_recorded_request_streaming(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    recorded = claude_code_request()
    client = anthropic_client(proxy)
    body = {
        k: v for k, v in recorded["body"].items() if k not in ("stream", "context_management", "metadata")
    }
    with client.messages.stream(
        **{k: v for k, v in body.items() if k not in ("output_config", "thinking")},
        thinking={"type": "enabled", "budget_tokens": 31999},
        extra_body={"output_config": body.get("output_config")},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith("fake-openai deepseek-chat says:")
    assert final.stop_reason == "end_turn"
    [sent] = chat_requests(openai_fake)
    assert sent["stream"] is True and sent["max_tokens"] == 8192
    assert "reasoning_effort" not in sent


def test_thinking_becomes_reasoning_effort_for_a_reasoning_deployment(
    proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    message = anthropic_client(proxy).messages.create(
        model="reasoner",
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 31999},
        messages=[{"role": "user", "content": "hello"}],
    )
    assert message.content[-1].text.startswith("fake-openai gpt-reasoning says: hello")
    [sent] = chat_requests(openai_fake)
    assert sent["reasoning_effort"] == "high"
    assert sent["max_tokens"] == 32000


def test_oversized_max_tokens_is_clamped(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    message = anthropic_client(proxy).messages.create(
        model="claude-opus-4-1", max_tokens=200_000, messages=[{"role": "user", "content": "big"}]
    )
    assert message.content[0].text.endswith("big")
    [sent] = chat_requests(openai_fake)
    assert sent["max_tokens"] == 8192


def test_tool_use_round_trip(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    client = anthropic_client(proxy)
    tools = [
        {
            "name": "Bash",
            "description": "Run a command",
            "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
                "additionalProperties": False,
            },
        }
    ]
    first_turn = [{"role": "user", "content": 'CALL_TOOL Bash {"command": "echo hi"}'}]
    first = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 31999},
        tools=tools,
        messages=first_turn,
    )
    assert first.stop_reason == "tool_use"
    tool_use = next(block for block in first.content if block.type == "tool_use")
    assert tool_use.name == "Bash" and tool_use.input == {"command": "echo hi"}
    second = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 31999},
        tools=tools,
        messages=[
            *first_turn,
            {
                "role": "assistant",
                "content": [block.model_dump(exclude_none=True) for block in first.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "hi"}],
            },
        ],
    )
    assert second.content[-1].text == "The tool returned: hi"
    sent = chat_requests(openai_fake)[-1]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool"]


def test_image_block(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    message = anthropic_client(proxy).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_1X1},
                    },
                    {"type": "text", "text": "what is this"},
                ],
            }
        ],
    )
    assert message.content[0].text.endswith("[saw an image]")
    [sent] = chat_requests(openai_fake)
    parts = sent["messages"][-1]["content"]
    assert any(p["type"] == "image_url" and p["image_url"]["url"].startswith("data:image/png") for p in parts)


def test_gemini_strict_schema_through_haiku_alias(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    body = claude_code_request()["body"]
    message = anthropic_client(proxy).messages.create(
        model="claude-haiku-4-5-20251001",
        max_tokens=64000,
        system=body["system"],
        tools=body["tools"],
        messages=[{"role": "user", "content": "hello gemini"}],
    )
    assert message.content[0].text.startswith("fake-openai gemini-strict says:")
    [sent] = chat_requests(openai_fake)
    assert sent["model"] == "gemini-strict"


def test_reasoning_from_history_never_reaches_a_model_that_rejects_it(
    proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    message = anthropic_client(proxy).messages.create(
        model="deepseek-reasoner",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[
            {"role": "user", "content": "first"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "earlier reasoning", "signature": "sig"},
                    {"type": "text", "text": "first answer"},
                ],
            },
            {"role": "user", "content": "second"},
        ],
    )
    assert message.content[-1].text.endswith("second")
    [sent] = chat_requests(openai_fake)
    assert all("reasoning_content" not in m and "thinking_blocks" not in m for m in sent["messages"])


def test_fallback_fires_for_a_group_whose_deployment_fails(
    proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    message = anthropic_client(proxy).messages.create(
        model="flaky", max_tokens=64000, messages=[{"role": "user", "content": "are you there"}]
    )
    assert message.content[0].text.startswith("fake-openai deepseek-chat says:")
    [sent] = chat_requests(openai_fake)
    assert sent["max_tokens"] == 8192  # rules applied again for the fallback deployment


@pytest.mark.parametrize("model", ["default", "claude-sonnet-4-5", "fast"])
def test_count_tokens_answers_for_every_deployment(proxy: ProxyProcess, model: str) -> None:
    count = anthropic_client(proxy).messages.count_tokens(
        model=model, messages=[{"role": "user", "content": "count these words please"}]
    )
    assert count.input_tokens > 0


def test_chat_completions_path_is_transformed_too(proxy: ProxyProcess, openai_fake: FakeOpenAIChat) -> None:
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="default",
        max_tokens=100_000,
        reasoning_effort="high",
        messages=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two", "reasoning_content": "hidden"},  # type: ignore[typeddict-unknown-key]
            {"role": "user", "content": "three"},
        ],
    )
    assert completion.choices[0].message.content.endswith("three")
    [sent] = chat_requests(openai_fake)
    assert sent["max_tokens"] == 8192
    assert "reasoning_effort" not in sent
    assert "reasoning_content" not in sent["messages"][1]


# -- errors in the client's protocol ---------------------------------------------------------------
def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type, body
    assert "Traceback" not in response.text
    return body


def test_malformed_json_is_an_anthropic_400(proxy: ProxyProcess) -> None:
    response = post_messages(proxy, b'{"model": "default", "messages": [')
    assert_anthropic_error(response, 400, "invalid_request_error")


def test_missing_max_tokens_is_an_anthropic_400(proxy: ProxyProcess) -> None:
    response = post_messages(proxy, {"model": "default", "messages": [{"role": "user", "content": "x"}]})
    assert_anthropic_error(response, 400, "invalid_request_error")


def test_unknown_model_is_an_anthropic_error_not_a_500(proxy: ProxyProcess) -> None:
    response = post_messages(
        proxy, {"model": "gpt-nonexistent", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code in (400, 404), response.text
    assert response.json()["type"] == "error"


def test_upstream_400_passes_through_as_invalid_request_error(
    proxy: ProxyProcess, openai_fake: FakeOpenAIChat
) -> None:
    openai_fake.add_fault(
        Fault(
            kind="status",
            status=400,
            model="deepseek-chat",
            body={
                "error": {
                    "message": "This model's maximum context length is 65536 tokens",
                    "type": "invalid_request_error",
                }
            },
        )
    )
    response = post_messages(
        proxy, {"model": "default", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    )
    body = assert_anthropic_error(response, 400, "invalid_request_error")
    assert "maximum context length" in body["error"]["message"]


def test_bad_model_aliases_stop_the_proxy_at_startup(openai_fake: FakeOpenAIChat, tmp_path: Path) -> None:
    """`model_aliases` is validated when the proxy loads its config, not at a user's first request."""
    config = plugin_config(
        session_model_list(openai_fake), plugins={"model_aliases": [{"pattern": "claude-*"}]}
    )
    process = ProxyProcess(config, tmp_path, name="bad-aliases")
    with pytest.raises(RuntimeError, match="proxy exited"):
        process.start()
    assert process.process is not None and process.process.returncode != 0
    assert "litellm_plugins.model_aliases entries must look like" in process.log_text()
