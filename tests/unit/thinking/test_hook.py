"""The thinking stripper's hooks, awaited directly with the kwargs and responses LiteLLM 1.106 hands
them (shapes recorded from a running proxy), and its settings."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import copy
import logging
from collections.abc import Iterable
from typing import Any

import pytest
from litellm.types.utils import (
    CallTypes,
    Choices,
    Delta,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
)

import litellm_plugins.hooks
from litellm_plugins import instances
from litellm_plugins.core.deployment import anthropic_api_check
from litellm_plugins.core.settings import SettingsError, parse_settings
from litellm_plugins.streams import context as stream_context
from litellm_plugins.streams.layer import StreamLayer
from litellm_plugins.thinking.hook import LOG_REQUEST, LOG_RESPONSE, METADATA_KEY, ThinkingStripper
from litellm_plugins.thinking.rules import FOREIGN_PREFIX, TARGET_REJECTS, UNSIGNED
from litellm_plugins.thinking.settings import (
    ThinkingSettings,
    parse_thinking_settings,
)
from tests.fakes.anthropic_messages import sse_event

ANTHROPIC_BASE = "http://127.0.0.1:8123"
SIGNED = {"type": "thinking", "thinking": "Anthropic reasoning.", "signature": "EqQBCgIYAhIM-anthropic"}
UNSIGNED_BLOCK = {"type": "thinking", "thinking": "Let me think.", "signature": ""}


def stripper(strip_groups: Iterable[str] = ("openrouter",), mark: bool = True) -> ThinkingStripper:
    plugin_settings = parse_settings({"anthropic_api_bases": [ANTHROPIC_BASE]})
    return ThinkingStripper(
        settings=ThinkingSettings(strip_response_groups=tuple(strip_groups), mark_foreign_signatures=mark),
        is_anthropic_api=anthropic_api_check(plugin_settings),
    )


def history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [SIGNED, {"type": "text", "text": "from Anthropic"}]},
        {"role": "user", "content": [{"type": "text", "text": "next"}]},
        {
            "role": "assistant",
            "content": [UNSIGNED_BLOCK, {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "ok"}]},
    ]


def deployment_kwargs(
    model: str = "anthropic/claude-sonnet-4-5",
    api_base: str | None = ANTHROPIC_BASE,
    group: str = "sonnet",
    model_info: dict[str, Any] | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What LiteLLM hands `async_pre_call_deployment_hook` for one /v1/messages attempt."""
    return {
        "model": model,
        "custom_llm_provider": model.split("/", 1)[0],
        "api_base": api_base,
        "model_info": {"id": "d-1", "db_model": False, **(model_info or {})},
        "messages": history() if messages is None else messages,
        "thinking": {"type": "adaptive"},
        "max_tokens": 32000,
        "stream": True,
        "litellm_metadata": {"model_group": group, "deployment": model},
        "litellm_call_id": "call-1",
    }


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_hooks_are_defined_on_the_class_itself() -> None:
    # LiteLLM runs a hook only when the registered class overrides it.
    for name in ("async_pre_call_deployment_hook", "async_post_call_success_hook"):
        assert name in ThinkingStripper.__dict__
    # Streams are the stream layer's: an iterator hook would put LiteLLM on its slow stream path.
    assert "async_post_call_streaming_iterator_hook" not in ThinkingStripper.__dict__


def test_the_config_name_points_at_the_one_instance() -> None:
    assert litellm_plugins.hooks.thinking_stripper is instances.thinking_stripper
    assert "thinking_stripper" in litellm_plugins.hooks.__all__


def test_request_to_anthropic_drops_foreign_blocks_and_logs_why(caplog: pytest.LogCaptureFixture) -> None:
    kwargs = deployment_kwargs()
    before = copy.deepcopy(kwargs)
    with caplog.at_level(logging.INFO, logger="litellm_plugins.thinking.hook"):
        out = run(stripper().async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out is not None and out is not kwargs
    assert {k: v for k, v in kwargs.items() if k != "litellm_metadata"} == {
        k: v for k, v in before.items() if k != "litellm_metadata"
    }
    assert out["messages"][3]["content"][0]["type"] == "tool_use"
    assert out["messages"][1]["content"][0] == SIGNED
    assert "thinking" not in out  # the tool loop's final turn lost its only thinking block
    [record] = [r for r in caplog.records if r.msg == LOG_REQUEST]
    line = record.getMessage()
    assert "anthropic/claude-sonnet-4-5 (Anthropic's API)" in line
    assert "kept 1, dropped 1 thinking block(s) (unsigned=1)" in line and "thinking off" in line
    state = kwargs["litellm_metadata"][METADATA_KEY]
    assert state["group"] == "sonnet" and state["anthropic_api"] is True
    assert state["requests"][0]["dropped"] == {UNSIGNED: 1}


def test_nothing_to_change_returns_none_but_remembers_the_serving_deployment() -> None:
    messages = history()[:3]
    kwargs = deployment_kwargs(messages=messages)
    assert run(stripper().async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages)) is None
    assert kwargs["litellm_metadata"][METADATA_KEY]["deployment"] == "anthropic/claude-sonnet-4-5"


def test_an_openai_compatible_target_gets_no_reasoning() -> None:
    kwargs = deployment_kwargs(
        model="openai/deepseek-chat", api_base="https://api.deepseek.com/v1", group="deepseek"
    )
    out = run(stripper().async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out is not None
    assert not any(b["type"] == "thinking" for m in out["messages"] for b in m["content"])
    assert kwargs["litellm_metadata"][METADATA_KEY]["requests"][0]["dropped"] == {TARGET_REJECTS: 2}
    assert kwargs["litellm_metadata"][METADATA_KEY]["anthropic_api"] is False


def test_an_anthropic_compatible_target_that_keeps_reasoning_gets_its_own_signature_back() -> None:
    glm_block = {"type": "thinking", "thinking": "GLM reasoning.", "signature": FOREIGN_PREFIX + "glm-sig"}
    messages = [
        *history()[:3],
        {"role": "assistant", "content": [glm_block, {"type": "text", "text": "x"}]},
        history()[2],
    ]
    kwargs = deployment_kwargs(
        model="anthropic/glm-4.6", api_base="https://api.z.ai/api/anthropic", messages=messages
    )
    out = run(stripper().async_pre_call_deployment_hook(kwargs, CallTypes.anthropic_messages))
    assert out["messages"][3]["content"][0]["signature"] == "glm-sig"
    assert out["messages"][1]["content"][0] == SIGNED and out["thinking"] == {"type": "adaptive"}


def test_chat_completions_to_anthropic_sort_thinking_blocks() -> None:
    messages = [
        {"role": "user", "content": "run"},
        {
            "role": "assistant",
            "content": None,
            "thinking_blocks": [
                {"type": "thinking", "thinking": "gemini", "signature": FOREIGN_PREFIX + "g"}
            ],
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
    ]
    kwargs = {
        **deployment_kwargs(messages=messages),
        "reasoning_effort": "high",
        "metadata": {"model_group": "sonnet"},
    }
    kwargs.pop("thinking")
    kwargs.pop("litellm_metadata")
    out = run(stripper().async_pre_call_deployment_hook(kwargs, CallTypes.acompletion))
    assert "thinking_blocks" not in out["messages"][1] and "reasoning_effort" not in out


def test_other_call_types_are_left_alone() -> None:
    assert run(stripper().async_pre_call_deployment_hook(deployment_kwargs(), CallTypes.aembedding)) is None


# -- responses -------------------------------------------------------------------------------
def request_data(group: str, anthropic_api: bool, key: str = "litellm_metadata") -> dict[str, Any]:
    state = {"requests": [], "group": group, "deployment": "x/y", "anthropic_api": anthropic_api}
    return {key: {"model_group": group, METADATA_KEY: state}}


def anthropic_body() -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "r", "signature": "sig"},
            {"type": "text", "text": "answer"},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def test_non_streaming_anthropic_response_is_stripped_for_a_listed_group(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = anthropic_body()
    with caplog.at_level(logging.INFO, logger="litellm_plugins.thinking.hook"):
        out = run(stripper().async_post_call_success_hook(request_data("openrouter", False), None, body))
    assert [block["type"] for block in out["content"]] == ["text"]
    assert body["content"][0]["type"] == "thinking"  # the original stays for LiteLLM's logging
    assert any(
        r.msg == LOG_RESPONSE and "1 thinking block(s) removed" in r.getMessage() for r in caplog.records
    )


def test_non_streaming_foreign_response_is_marked_and_anthropic_is_untouched() -> None:
    out = run(stripper().async_post_call_success_hook(request_data("glm", False), None, anthropic_body()))
    assert out["content"][0]["signature"] == FOREIGN_PREFIX + "sig"
    assert (
        run(stripper().async_post_call_success_hook(request_data("sonnet", True), None, anthropic_body()))
        is None
    )
    assert (
        run(
            stripper(mark=False).async_post_call_success_hook(
                request_data("glm", False), None, anthropic_body()
            )
        )
        is None
    )
    assert (
        run(stripper().async_post_call_success_hook({"litellm_metadata": {}}, None, anthropic_body())) is None
    )


def test_non_streaming_chat_completion_loses_its_reasoning() -> None:
    message = Message(
        content="answer",
        reasoning_content="thoughts",
        thinking_blocks=[{"type": "thinking", "thinking": "t", "signature": "s"}],
    )
    response = ModelResponse(choices=[Choices(message=message)])
    out = run(
        stripper().async_post_call_success_hook(request_data("openrouter", False, "metadata"), None, response)
    )
    dumped = out.model_dump_json()
    assert "thoughts" not in dumped and "thinking_blocks" not in dumped and '"answer"' in dumped
    assert response.choices[0].message.reasoning_content == "thoughts"


def through_layer(state: dict[str, Any], body: list[bytes], route: str = "/v1/messages") -> bytes:
    """What the stream layer, given this stripper's plan, sends for a reply LiteLLM streams."""
    recorded: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        context = stream_context.current()
        assert context is not None
        context.thinking = state  # what the stripper's deployment hook leaves
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for piece in body:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent: list[bytes] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    layer = StreamLayer(app, stripper().stream_plan, lambda _state, what: recorded.append(what), str)
    run(layer({"type": "http", "method": "POST", "path": route}, None, send))
    state["recorded"] = recorded
    return b"".join(sent)


def sse_with_thinking() -> bytes:
    frames = [
        {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
                                              "content": [], "model": "m", "stop_reason": None,
                                              "usage": {"input_tokens": 1, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "answer"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_stop"},
    ]  # fmt: skip
    return b"".join(sse_event(frame["type"], frame) for frame in frames)


def state_of(group: str, anthropic_api: bool) -> dict[str, Any]:
    return request_data(group, anthropic_api)["litellm_metadata"][METADATA_KEY]


def test_streaming_anthropic_sse_is_stripped_across_chunk_boundaries() -> None:
    raw = sse_with_thinking()
    pieces = [raw[i : i + 13] for i in range(0, len(raw), 13)]
    state = state_of("openrouter", False)
    joined = through_layer(state, pieces)
    assert b"thinking" not in joined and b'"index": 0, "delta": {"type": "text_delta"' in joined
    assert joined.endswith(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
    assert state["recorded"] == ["1 thinking block(s) removed from the stream"]


def test_streaming_from_a_foreign_deployment_is_marked_and_anthropic_passes_untouched() -> None:
    raw = sse_with_thinking()
    marked = through_layer(state_of("glm", False), [raw])
    assert FOREIGN_PREFIX.encode() + b"sig" in marked
    untouched = through_layer(state_of("sonnet", True), [raw[:50], raw[50:]])
    assert untouched == raw
    assert stripper().stream_plan(state_of("sonnet", True)) is None


def chat_frame(chunk: ModelResponseStream) -> bytes:
    return b"data: " + chunk.model_dump_json(exclude_none=True).encode() + b"\n\n"


def test_streaming_chat_chunks_lose_reasoning_and_reasoning_only_chunks_go() -> None:
    chunks = [
        ModelResponseStream(choices=[StreamingChoices(delta=Delta(role="assistant", content=""))]),
        ModelResponseStream(choices=[StreamingChoices(delta=Delta(reasoning_content="thinking..."))]),
        ModelResponseStream(
            choices=[StreamingChoices(delta=Delta(content="answer", reasoning_content="more"))]
        ),
        ModelResponseStream(choices=[StreamingChoices(delta=Delta(), finish_reason="stop")]),
    ]
    state = state_of("openrouter", False)
    out = through_layer(state, [*map(chat_frame, chunks), b"data: [DONE]\n\n"], "/v1/chat/completions")
    frames = [frame for frame in out.split(b"\n\n") if frame]
    assert len(frames) == 4 and frames[-1] == b"data: [DONE]"
    assert b"reasoning" not in out and b'"answer"' in out and b'"stop"' in out
    assert state["recorded"] == ["reasoning removed from 2 chunk(s)"]


# -- settings ------------------------------------------------------------------------------------
def test_settings_parse_and_match_groups_by_glob() -> None:
    settings = parse_thinking_settings(
        parse_settings({"thinking": {"strip_response_groups": ["openrouter", "deepseek*"]}})
    )
    assert settings.strips("openrouter") and settings.strips("deepseek-reasoner")
    assert not settings.strips("sonnet") and not settings.strips(None)
    assert parse_thinking_settings(parse_settings({})) == ThinkingSettings()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"strip_groups": ["x"]}, "unknown setting 'strip_groups'"),
        ({"strip_response_groups": {"a": 1}}, "strip_response_groups must be a list"),
        ({"strip_response_groups": [""]}, "strip_response_groups must be a list"),
        ({"mark_foreign_signatures": "yes"}, "mark_foreign_signatures must be true or false"),
    ],
)
def test_bad_settings_say_which_key_and_how_to_fix_it(section: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        parse_thinking_settings(parse_settings({"thinking": section}))
    assert "litellm_plugins.thinking" in str(raised.value)


def test_anthropic_api_is_the_rotators_rule() -> None:
    check = anthropic_api_check(parse_settings({"anthropic_api_bases": [ANTHROPIC_BASE]}))
    assert check(None) and check("https://api.anthropic.com") and check(ANTHROPIC_BASE)
    assert not check("https://api.z.ai/api/anthropic") and not check("http://127.0.0.1:9")
