"""The thinking stripper in the real proxy: one conversation moves between Anthropic (the strict
fake verifies every thinking signature and enforces the tool-loop rule), an OpenAI-compatible
reasoner (the strict fake rejects reasoning in its input) and an Anthropic-compatible provider
that signs with its own key, driven by the official SDKs the way Claude Code keeps history: every
content block of every answer goes back on the next request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import OPENAI_KEY
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

ANTHROPIC_KEY = "sk-ant-api03-thinking-test-" + "k" * 20
GLM_KEY = "glm-thinking-test-key-" + "g" * 20
THINKING_CALLBACKS = ["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.thinking_stripper"]
BASH = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
}
THINKING = {"type": "enabled", "budget_tokens": 2048}


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=(ANTHROPIC_KEY,)).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def glm_fake() -> Iterator[FakeAnthropic]:
    """An Anthropic-compatible provider: its own key, and signatures Anthropic cannot verify."""
    fake = FakeAnthropic(api_keys=(GLM_KEY,), signing_secret=b"glm-own-signing-secret").start()
    yield fake
    fake.stop()


def thinking_config(
    anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, callbacks: list[str]
) -> dict[str, Any]:
    model_list = [
        {
            "model_name": "sonnet",
            "litellm_params": {
                "model": "anthropic/claude-sonnet-4-5",
                "api_base": anthropic_fake.url,
                "api_key": ANTHROPIC_KEY,
            },
        },
        {
            "model_name": "glm",
            "litellm_params": {
                "model": "anthropic/claude-opus-4-1",
                "api_base": glm_fake.url.replace("127.0.0.1", "localhost"),
                "api_key": GLM_KEY,
            },
            # This fake verifies signatures like Anthropic does, with its own key: it can take no
            # other provider's reasoning.
            "model_info": {"reasoning_input": "drop"},
        },
        {
            "model_name": "deepseek-reasoner",
            "litellm_params": {
                "model": "openai/deepseek-reasoner",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
            "model_info": {"max_output_tokens": 8192},
        },
        {
            "model_name": "openrouter",
            "litellm_params": {
                "model": "openai/deepseek-reasoner",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
            "model_info": {"max_output_tokens": 8192},
        },
        {
            "model_name": "sonnet-stripped",
            "litellm_params": {
                "model": "anthropic/claude-sonnet-4-5",
                "api_base": anthropic_fake.url,
                "api_key": ANTHROPIC_KEY,
            },
        },
    ]
    return plugin_config(
        model_list,
        callbacks=callbacks,
        plugins={
            "anthropic_api_bases": [anthropic_fake.url],
            "thinking": {"strip_response_groups": ["openrouter", "sonnet-stripped"]},
        },
    )


@pytest.fixture(scope="module")
def thinking_proxy(
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProxyProcess]:
    config = thinking_config(anthropic_fake, glm_fake, openai_fake, THINKING_CALLBACKS)
    process = ProxyProcess(config, tmp_path_factory.mktemp("thinking"), name="thinking").start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _reset_fakes(anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic) -> None:
    anthropic_fake.requests.clear()
    glm_fake.requests.clear()


def anthropic_client(proxy: ProxyProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=MASTER_KEY, max_retries=0, timeout=60)


class Conversation:
    """Claude Code's way of keeping history: every block of every answer is replayed."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.client = anthropic_client(proxy)
        self.messages: list[dict[str, Any]] = []

    def ask(self, model: str, content: list[dict[str, Any]] | str, thinking: bool = True) -> Any:
        self.messages.append({"role": "user", "content": content})
        extra = {"thinking": THINKING} if thinking else {}
        with self.client.messages.stream(
            model=model, max_tokens=4096, messages=self.messages, tools=[BASH], **extra
        ) as stream:
            final = stream.get_final_message()
        self.messages.append(
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in final.content]}
        )
        return final

    def answer_tool(self, model: str, final: Any, output: str) -> Any:
        [call] = [block for block in final.content if block.type == "tool_use"]
        return self.ask(model, [{"type": "tool_result", "tool_use_id": call.id, "content": output}])


def sent_blocks(fake: FakeAnthropic) -> list[list[dict[str, Any]]]:
    """Per request the fake received: every thinking block in its history."""
    return [
        [
            b
            for m in r.body["messages"]
            for b in (m["content"] if isinstance(m["content"], list) else [])
            if b.get("type") == "thinking"
        ]
        for r in fake.requests.all()
        if r.path == "/v1/messages"
    ]


def test_one_conversation_across_anthropic_an_openai_reasoner_and_back(
    thinking_proxy: ProxyProcess,
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    openai_fake: FakeOpenAIChat,
) -> None:
    chat = Conversation(thinking_proxy)
    # 1. Anthropic thinks (signed) and calls a tool.
    first = chat.ask("sonnet", 'CALL_TOOL Bash {"command": "ls"}')
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    # 2. The user switches to the OpenAI-compatible reasoner mid tool loop: Anthropic's signed
    #    block must not reach it as reasoning_content.
    second = chat.answer_tool("deepseek-reasoner", first, "config.yaml")
    assert [b.type for b in second.content] == ["thinking", "text"]
    assert not second.content[0].signature  # translated reasoning carries no signature
    # 3. The reasoner opens a tool loop of its own, with unsigned thinking first.
    third = chat.ask("deepseek-reasoner", 'CALL_TOOL Bash {"command": "cat config.yaml"}')
    assert [b.type for b in third.content] == ["thinking", "tool_use"]
    # 4. Back to Anthropic to close that loop: the unsigned blocks go, the final tool turn has no
    #    Anthropic thinking left, so thinking is off for this one request.
    fourth = chat.answer_tool("sonnet", third, "model_list: []")
    assert fourth.content[-1].text == "The tool returned: model_list: []"
    # 5. Anthropic again, outside a tool loop: thinking on, its own earlier block kept.
    fifth = chat.ask("sonnet", "thanks")
    assert fifth.content[0].type == "thinking"
    # 6. An Anthropic-compatible provider signing with its own key; 7. back to Anthropic.
    sixth = chat.ask("glm", "one more")
    assert sixth.content[0].type == "thinking" and sixth.content[0].signature.startswith(
        "litellm-plugins-foreign:"
    )
    seventh = chat.ask("sonnet", "and back")
    assert seventh.content[0].type == "thinking"

    anthropic_requests = [r for r in anthropic_fake.requests.all() if r.path == "/v1/messages"]
    assert [r.status for r in anthropic_requests] == [200, 200, 200, 200]  # no 400, so no LiteLLM retry
    assert [r.status for r in glm_fake.requests.all() if r.path == "/v1/messages"] == [200]
    thinking_per_request = sent_blocks(anthropic_fake)
    first_signature = first.content[0].signature
    assert [[b["signature"] for b in blocks] for blocks in thinking_per_request] == [
        [],
        [first_signature],  # request 4: the reasoner's two unsigned blocks dropped
        [first_signature],
        [first_signature, fifth.content[0].signature],  # request 7: the GLM block dropped as foreign
    ]
    bodies = [r.body for r in anthropic_requests]
    assert (
        "thinking" not in bodies[1]
        and bodies[2]["thinking"] == THINKING
        and bodies[3]["thinking"] == THINKING
    )
    for request in openai_fake.requests.all():
        assert all("reasoning_content" not in message for message in request.body["messages"])
    log = thinking_proxy.log_text()
    assert (
        "thinking: request to anthropic/claude-sonnet-4-5 (Anthropic's API): kept 1, dropped 2 thinking "
        "block(s) (unsigned=2); thinking off:" in log
    )
    assert "kept 2, dropped 3 thinking block(s) (foreign=1, unsigned=2)" in log
    assert (
        "thinking: response from anthropic/claude-opus-4-1 (group glm): 1 foreign signature(s) marked" in log
    )


def test_claude_codes_thinking_settings_stay_off_when_the_rule_turns_thinking_off(
    thinking_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    """Claude Code sends `thinking: adaptive` with `output_config.effort`; for a pre-4.6 model
    LiteLLM turns the effort back into `thinking: enabled`, so turning thinking off must take the
    effort with it."""
    history = [
        {"role": "user", "content": "run"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Let me think.", "signature": ""},
                {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "ok"}]},
    ]
    body = {
        "model": "sonnet",
        "max_tokens": 32000,
        "messages": history,
        "tools": [BASH],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    for stream in (False, True):
        response = httpx.post(
            f"{thinking_proxy.url}/v1/messages",
            json={**body, "stream": stream},
            headers={"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
    sent = [r.body for r in anthropic_fake.requests.all() if r.path == "/v1/messages"]
    assert [r.status for r in anthropic_fake.requests.all()] == [200, 200]
    assert all(not {"thinking", "output_config", "context_management"} & set(body) for body in sent)


def test_streaming_with_stripping_parses_in_the_anthropic_sdk(thinking_proxy: ProxyProcess) -> None:
    client = anthropic_client(thinking_proxy)
    for model in ("sonnet-stripped", "openrouter"):
        with client.messages.stream(
            model=model, max_tokens=4096, thinking=THINKING, tools=[BASH],
            messages=[{"role": "user", "content": 'CALL_TOOL Bash {"command": "ls"}'}],
        ) as stream:  # fmt: skip
            events = [event.type for event in stream]
            final = stream.get_final_message()
        assert [block.type for block in final.content] == ["tool_use"], model
        assert final.content[0].input == {"command": "ls"}
        assert "thinking" not in json.dumps(final.model_dump(exclude_none=True)["content"])
        assert "content_block_start" in events
        with client.messages.stream(
            model=model, max_tokens=4096, thinking=THINKING, messages=[{"role": "user", "content": "hello"}]
        ) as stream:
            text = "".join(stream.text_stream)
        assert "says: hello" in text, model
    log = thinking_proxy.log_text()
    assert "(group sonnet-stripped): 1 thinking block(s) removed from the stream" in log


def test_non_streaming_with_stripping(thinking_proxy: ProxyProcess) -> None:
    client = anthropic_client(thinking_proxy)
    for model in ("sonnet-stripped", "openrouter"):
        message = client.messages.create(
            model=model, max_tokens=4096, thinking=THINKING, messages=[{"role": "user", "content": "hello"}]
        )
        assert [block.type for block in message.content] == ["text"], model


def test_chat_completions_with_stripping_parse_in_the_openai_sdk(thinking_proxy: ProxyProcess) -> None:
    client = openai.OpenAI(base_url=f"{thinking_proxy.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)
    stream = client.chat.completions.create(
        model="openrouter", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "fake-openai deepseek-reasoner says: hello" in text
    assert all("reasoning" not in chunk.model_dump_json(exclude_none=True) for chunk in chunks)
    reply = client.chat.completions.create(
        model="openrouter", messages=[{"role": "user", "content": "hello"}]
    )
    assert "reasoning" not in reply.model_dump_json(exclude_none=True)
    # A group that is not stripped still shows the reasoning: stripping is per group.
    kept = client.chat.completions.create(
        model="deepseek-reasoner", messages=[{"role": "user", "content": "hello"}]
    )
    assert (
        getattr(kept.choices[0].message, "reasoning_content", None) == "Let me think about this step by step."
    )


def test_without_the_stripper_litellm_retries_every_turn_without_thinking(
    anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    """What LiteLLM 1.106 does by itself: Anthropic answers 400 to the foreign block, and LiteLLM
    retries once with every thinking block and `thinking` itself removed. The client sees no
    error, but from the first foreign block on every Anthropic turn costs two requests and loses
    thinking, Anthropic's own blocks included."""
    config = thinking_config(
        anthropic_fake, glm_fake, openai_fake, ["litellm_plugins.hooks.request_transformer"]
    )
    with ProxyProcess(config, tmp_path, name="stock") as proxy:
        chat = Conversation(proxy)
        first = chat.ask("sonnet", 'CALL_TOOL Bash {"command": "ls"}')
        chat.answer_tool("deepseek-reasoner", first, "config.yaml")
        second = chat.ask("sonnet", "thanks")
        third = chat.ask("sonnet", "and again")
    assert (
        [b.type for b in second.content] == [b.type for b in third.content] == ["text"]
    )  # no thinking any more
    requests = [r for r in anthropic_fake.requests.all() if r.path == "/v1/messages"]
    assert [r.status for r in requests] == [200, 400, 200, 400, 200]
    assert all("thinking" not in r.body for r in requests[2::2])
