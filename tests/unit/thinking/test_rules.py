"""The thinking rules on recorded-shape histories: Claude Code's `/v1/messages` bodies after turns
served by Anthropic (signed blocks), by an OpenAI-compatible reasoner through LiteLLM (unsigned
blocks), by an Anthropic-compatible provider (marked blocks), and LiteLLM's Responses bridge.

Every request built for Anthropic's API is also checked with the strict fake's own validator:
signatures must verify and the tool-loop rule must hold."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litellm_plugins.thinking.rules import (
    EMPTY,
    FOREIGN,
    FOREIGN_PREFIX,
    LITELLM_ENCRYPTED_PREFIX,
    TARGET_REJECTS,
    UNSIGNED,
    final_tool_turn_without_thinking,
    for_anthropic_api,
    for_other_target,
    foreign_reason,
    mark_foreign,
    openai_for_anthropic_api,
    openai_unwrap_foreign,
    unwrap_foreign,
)
from tests.fakes.anthropic_messages import (
    DEFAULT_MODELS,
    MESSAGE_PARAMETERS,
    MID_CONVERSATION_SYSTEM_BETA,
    RequestRejected,
    sign_thinking,
    validate_request,
)

SECRET = b"unit-test-signing-secret"
THINKING_ON = {"type": "adaptive"}


def signed(text: str = "Anthropic reasoning.") -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": sign_thinking(SECRET, text)}


def translated(text: str = "Let me think about this step by step.") -> dict[str, Any]:
    """What LiteLLM's /v1/messages bridge turns an OpenAI-compatible reasoner's reasoning into."""
    return {"type": "thinking", "thinking": text, "signature": None}


def streamed_translation(text: str = "Let me think about this step by step.") -> dict[str, Any]:
    """The same, as Claude Code keeps it from a stream (no signature_delta was ever sent)."""
    return {"type": "thinking", "thinking": text, "signature": ""}


def marked(text: str = "GLM reasoning.") -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": FOREIGN_PREFIX + "glm-signature-abc"}


def tool_use(ident: str, command: str = "ls") -> dict[str, Any]:
    return {"type": "tool_use", "id": ident, "name": "Bash", "input": {"command": command}}


def tool_result(ident: str, text: str = "file.txt") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": ident, "content": text}


def user(*blocks: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [b if isinstance(b, dict) else {"type": "text", "text": b} for b in blocks],
    }


def assistant(*blocks: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [b if isinstance(b, dict) else {"type": "text", "text": b} for b in blocks],
    }


def body(
    messages: list[dict[str, Any]], thinking: dict[str, Any] | None = THINKING_ON, **extra: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "messages": messages,
        **extra,
    }
    if thinking is not None:
        request["thinking"] = thinking
    return request


def accepted_by_anthropic(request: dict[str, Any]) -> None:
    sent = {k: v for k, v in request.items() if k in MESSAGE_PARAMETERS}
    validate_request(sent, DEFAULT_MODELS, (MID_CONVERSATION_SYSTEM_BETA,), SECRET, MESSAGE_PARAMETERS)


def test_the_fake_really_rejects_these_histories_unchanged() -> None:
    for foreign in (translated(), streamed_translation(), marked()):
        history = [user("hi"), assistant(foreign, "hello"), user("again")]
        with pytest.raises(RequestRejected, match="thinking"):
            accepted_by_anthropic(body(history))


def test_anthropic_signed_history_is_left_alone() -> None:
    history = [
        user("list files"),
        assistant(signed("I should run ls."), tool_use("toolu_1")),
        user(tool_result("toolu_1")),
        assistant(signed("Now I answer."), "There is file.txt"),
        user("thanks"),
    ]
    request = body(history)
    out, report = for_anthropic_api(request)
    assert out["messages"] is history and out["thinking"] == THINKING_ON
    assert not report.changed and report.kept == 2
    accepted_by_anthropic(out)


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        (translated(), UNSIGNED),
        (streamed_translation(), UNSIGNED),
        ({"type": "thinking", "thinking": "no signature key"}, UNSIGNED),
        ({"type": "thinking", "thinking": "", "signature": ""}, EMPTY),
        ({"type": "thinking", "thinking": "   ", "signature": None}, EMPTY),
        ({"type": "redacted_thinking", "data": ""}, EMPTY),
        (marked(), FOREIGN),
        ({"type": "redacted_thinking", "data": FOREIGN_PREFIX + "opaque"}, FOREIGN),
        ({"type": "thinking", "thinking": "r", "signature": LITELLM_ENCRYPTED_PREFIX + "gAAAA"}, FOREIGN),
        ({"type": "redacted_thinking", "data": LITELLM_ENCRYPTED_PREFIX + "gAAAA"}, FOREIGN),
    ],
)
def test_foreign_blocks_are_dropped_with_their_reason(block: dict[str, Any], reason: str) -> None:
    history = [
        user("hi"),
        assistant(signed(), "first"),
        user("next"),
        assistant(block, "second"),
        user("again"),
    ]
    out, report = for_anthropic_api(body(history))
    assert report.dropped == {reason: 1} and report.kept == 1
    assert out["messages"][3]["content"] == [{"type": "text", "text": "second"}]
    assert out["messages"][1] is history[1]  # untouched turns are shared, not copied
    assert report.thinking_off is None and out["thinking"] == THINKING_ON
    if reason != EMPTY or block["type"] == "thinking":
        accepted_by_anthropic(out)


def test_anthropic_blocks_kept_as_they_are() -> None:
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}
    omitted = {"type": "thinking", "thinking": "", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}
    for block in (redacted, omitted):  # `display: omitted` answers carry a signature and no text
        assert foreign_reason(block) is None
    _out, report = for_anthropic_api(body([user("hi"), assistant(redacted, omitted, "ok"), user("more")]))
    assert not report.changed and report.kept == 2


def test_the_input_is_never_mutated() -> None:
    history = [
        user("hi"),
        assistant(translated(), tool_use("toolu_1")),
        user(tool_result("toolu_1")),
    ]
    request = body(
        history, context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    )
    before = copy.deepcopy(request)
    for_anthropic_api(request)
    for_other_target(request, keep_reasoning=False)
    for_other_target(request, keep_reasoning=True)
    assert request == before


def test_a_thinking_only_turn_is_removed_rather_than_sent_empty() -> None:
    history = [user("hi"), assistant(translated()), user("are you there?")]
    out, report = for_anthropic_api(body(history))
    assert [m["role"] for m in out["messages"]] == ["user", "user"]
    assert report.dropped == {UNSIGNED: 1}
    accepted_by_anthropic(out)


# -- the tool-loop rule ------------------------------------------------------------------------
def switched_mid_tool_loop() -> list[dict[str, Any]]:
    """Anthropic ran a tool, the user switched to DeepSeek which ran another, then back to Anthropic."""
    return [
        user("find the config"),
        assistant(signed("I will list files."), tool_use("toolu_a")),
        user(tool_result("toolu_a", "config.yaml")),
        assistant(signed("Found it."), "config.yaml is there"),
        user("now read it"),
        assistant(streamed_translation("I should cat it."), tool_use("call_b", "cat config.yaml")),
        user(tool_result("call_b", "model_list: []")),
    ]


def test_final_tool_turn_that_lost_its_thinking_turns_thinking_off() -> None:
    request = body(
        switched_mid_tool_loop(),
        context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        output_config={"effort": "high"},
    )
    out, report = for_anthropic_api(request)
    # LiteLLM maps `output_config.effort` back to `thinking: enabled` for pre-4.6 models.
    assert "thinking" not in out and "context_management" not in out and "output_config" not in out
    assert report.thinking_off is not None and "messages.5" in report.thinking_off
    assert report.dropped == {UNSIGNED: 1} and report.kept == 2
    # Anthropic's earlier signed blocks stay: only a final-position assistant message must not
    # carry thinking when thinking is off.
    assert out["messages"][1]["content"][0]["type"] == "thinking"
    accepted_by_anthropic(out)
    assert "thinking off" in report.summary() and "unsigned=1" in report.summary()


def test_other_context_edits_and_output_settings_survive_when_thinking_goes_off() -> None:
    edits = [{"type": "clear_thinking_20251015", "keep": "all"}, {"type": "clear_tool_uses_20250919"}]
    output_config = {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}}
    request = body(switched_mid_tool_loop(), context_management={"edits": edits}, output_config=output_config)
    out, _ = for_anthropic_api(request)
    assert out["context_management"] == {"edits": [{"type": "clear_tool_uses_20250919"}]}
    assert out["output_config"] == {"format": output_config["format"]}


def test_final_tool_turn_with_anthropic_thinking_keeps_thinking_on() -> None:
    history = switched_mid_tool_loop()
    history[5] = assistant(signed("I should cat it."), tool_use("toolu_b", "cat config.yaml"))
    history[6] = user(tool_result("toolu_b"))
    out, report = for_anthropic_api(body(history))
    assert out["thinking"] == THINKING_ON and report.thinking_off is None and not report.changed
    accepted_by_anthropic(out)


def test_a_tool_turn_that_never_had_thinking_also_turns_it_off() -> None:
    history = [user("run it"), assistant(tool_use("call_1")), user(tool_result("call_1"))]
    out, report = for_anthropic_api(body(history, thinking={"type": "enabled", "budget_tokens": 4096}))
    assert "thinking" not in out and report.thinking_off and not report.dropped
    accepted_by_anthropic(out)


def test_an_effort_without_thinking_goes_too_because_litellm_would_turn_it_into_thinking() -> None:
    history = [user("run it"), assistant(tool_use("call_1")), user(tool_result("call_1"))]
    out, report = for_anthropic_api(body(history, thinking=None, output_config={"effort": "high"}))
    assert "output_config" not in out and report.thinking_off


def test_thinking_off_requests_are_not_touched_by_the_tool_loop_rule() -> None:
    history = [user("run it"), assistant(tool_use("call_1")), user(tool_result("call_1"))]
    for thinking in (None, {"type": "disabled"}):
        out, report = for_anthropic_api(body(history, thinking=thinking))
        assert not report.changed and out.get("thinking") == thinking
        accepted_by_anthropic(out)


def test_interleaved_thinking_between_tool_calls_in_one_turn() -> None:
    history = [
        user("do two things"),
        assistant(signed("First ls."), tool_use("toolu_1"), signed("Then pwd."), tool_use("toolu_2", "pwd")),
        user(tool_result("toolu_1"), tool_result("toolu_2", "/work")),
    ]
    out, report = for_anthropic_api(body(history))
    assert not report.changed and report.kept == 2
    accepted_by_anthropic(out)
    history[1] = assistant(
        translated("First ls."), tool_use("toolu_1"), signed("Then pwd."), tool_use("toolu_2", "pwd")
    )
    out, report = for_anthropic_api(body(history))
    # The turn now starts with its tool_use: Anthropic's rule wants thinking first, so it goes off.
    assert report.dropped == {UNSIGNED: 1} and report.thinking_off
    accepted_by_anthropic(out)


def test_mid_conversation_system_messages_do_not_hide_the_tool_loop() -> None:
    history = [
        user("run it"),
        assistant(translated(), tool_use("call_1")),
        {"role": "system", "content": "A reminder from Claude Code"},
        user(tool_result("call_1")),
    ]
    without_thinking = [history[0], assistant(tool_use("call_1")), *history[2:]]
    assert final_tool_turn_without_thinking(without_thinking) is not None
    out, _report = for_anthropic_api(body(history))
    assert "thinking" not in out
    accepted_by_anthropic(out)


# -- other targets -----------------------------------------------------------------------------
def mixed_history() -> list[dict[str, Any]]:
    return [
        user("hi"),
        assistant(signed(), "from Anthropic"),
        user("next"),
        assistant(marked(), "from GLM"),
        user("and"),
        assistant({"type": "thinking", "thinking": "", "signature": ""}, "empty reasoning"),
        user("again"),
    ]


def test_a_target_that_rejects_reasoning_gets_none() -> None:
    out, report = for_other_target(body(mixed_history()), keep_reasoning=False)
    assert report.dropped == {TARGET_REJECTS: 3}
    assert not any(b["type"] == "thinking" for m in out["messages"] for b in m["content"])


def test_a_target_that_keeps_reasoning_gets_original_signatures_back() -> None:
    out, report = for_other_target(body(mixed_history()), keep_reasoning=True)
    assert report.unwrapped == 1 and report.dropped == {EMPTY: 1} and report.kept == 2
    assert out["messages"][3]["content"][0]["signature"] == "glm-signature-abc"
    assert out["messages"][1] == mixed_history()[1]


def test_marker_round_trip() -> None:
    assert mark_foreign("abc") == FOREIGN_PREFIX + "abc"
    assert mark_foreign(mark_foreign("abc")) == FOREIGN_PREFIX + "abc"
    assert mark_foreign("") == "" and mark_foreign(None) is None
    assert unwrap_foreign(mark_foreign("abc")) == "abc" and unwrap_foreign("abc") == "abc"


# -- OpenAI-shaped requests --------------------------------------------------------------------
def openai_history(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}],
    }
    if blocks is not None:
        message["thinking_blocks"] = blocks
        message["reasoning_content"] = "text"
    return [
        {"role": "user", "content": "run"},
        message,
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
    ]


def test_chat_request_to_anthropic_keeps_signed_thinking_blocks() -> None:
    request = {"model": "claude", "messages": openai_history([signed()]), "reasoning_effort": "high"}
    out, report = openai_for_anthropic_api(request)
    assert not report.changed and out["reasoning_effort"] == "high"


def test_chat_request_to_anthropic_drops_foreign_blocks_and_thinking_in_a_tool_loop() -> None:
    request = {
        "model": "claude",
        "messages": openai_history([marked(), translated()]),
        "reasoning_effort": "high",
    }
    out, report = openai_for_anthropic_api(request)
    assert report.dropped == {FOREIGN: 1, UNSIGNED: 1}
    assert "thinking_blocks" not in out["messages"][1] and "reasoning_effort" not in out
    assert report.thinking_off is not None


def test_chat_request_unwraps_markers_for_a_target_that_keeps_reasoning() -> None:
    out, report = openai_unwrap_foreign({"messages": openai_history([marked(), signed()])})
    assert report.unwrapped == 1
    assert out["messages"][1]["thinking_blocks"][0]["signature"] == "glm-signature-abc"
