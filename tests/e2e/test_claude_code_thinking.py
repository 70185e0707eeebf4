"""The real Claude Code CLI: one session moves from Anthropic to an OpenAI-compatible reasoner and
back with `--resume <session> --model <other>`, tool calls included. Claude Code replays every
thinking block it was given; the strict Anthropic fake verifies each signature and the tool-loop
rule, the OpenAI-compatible fake rejects reasoning in its input. Every turn must complete, and
Anthropic must never have had to answer 400."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OPENAI_KEY
from tests.e2e.claude_cli import ClaudeRun, run_claude
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat, Fault
from tests.harness import MASTER_KEY, ProxyProcess
from tests.integration.test_thinking_proxy import (  # noqa: F401 - the fakes are module fixtures
    THINKING_CALLBACKS,
    anthropic_fake,
    glm_fake,
    thinking_config,
)

pytestmark = pytest.mark.e2e


def claude_turn(
    proxy: ProxyProcess, workdir: Path, prompt: str, model: str, session: str | None = None
) -> dict[str, Any]:
    args = ["--output-format", "json", "--model", model, "--allowedTools", "Bash(echo:*)"]
    if session is not None:
        args += ["--resume", session]
    run: ClaudeRun = run_claude(
        prompt,
        base_url=proxy.url,
        workdir=workdir,
        env={
            "ANTHROPIC_API_KEY": "sk-ant-api03-e2e-client-placeholder-0000",
            "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {MASTER_KEY}",
        },
        extra_args=tuple(args),
    )
    assert run.returncode == 0, f"stdout={run.stdout[-2000:]!r} stderr={run.stderr[-2000:]!r}"
    result = json.loads(run.stdout)
    assert result.get("is_error") is False, result
    return result


def test_a_session_moves_to_an_openai_reasoner_and_back(
    anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    config = thinking_config(anthropic_fake, glm_fake, openai_fake, THINKING_CALLBACKS)
    config["litellm_plugins"]["model_aliases"] = {"claude-*": "sonnet"}
    workdir = tmp_path / "claude"
    marker = uuid.uuid4().hex[:6]
    with ProxyProcess(config, tmp_path / "proxy", name="thinking-e2e") as proxy:
        # 1. Anthropic (thinking on by default in Claude Code) runs a tool.
        first = claude_turn(
            proxy,
            workdir,
            f'CALL_TOOL Bash {{"command": "echo one-{marker}", "description": "Print"}}',
            "claude-sonnet-4-5",
        )
        session = first["session_id"]
        assert f"The tool returned: one-{marker}" in first["result"]
        # 2. The same session on the OpenAI-compatible reasoner, which runs a tool too.
        second = claude_turn(
            proxy,
            workdir,
            f'CALL_TOOL Bash {{"command": "echo two-{marker}", "description": "Print"}}',
            "deepseek-reasoner",
            session,
        )
        assert f"The tool returned: two-{marker}" in second["result"]
        # 3. Back on Anthropic, with the reasoner's unsigned thinking in the history.
        third = claude_turn(
            proxy, workdir, f"Reply with three-{marker}", "claude-sonnet-4-5", second["session_id"]
        )
        assert f"three-{marker}" in third["result"] and "fake-anthropic" in third["result"]
        log = proxy.log_text()

    main_turns = [
        r for r in anthropic_fake.requests.all() if r.path == "/v1/messages" and r.body.get("tools")
    ]
    assert main_turns and all(
        r.status == 200 for r in anthropic_fake.requests.all() if r.path == "/v1/messages"
    )
    # The last Anthropic request carried the whole conversation, its own signed blocks included.
    history = [json.dumps(m) for m in main_turns[-1].body["messages"]]
    assert any(f"two-{marker}" in text for text in history)
    replayed = [
        block
        for message in main_turns[-1].body["messages"]
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "thinking"
    ]
    assert replayed and all(block["signature"] for block in replayed)
    reasoner_turns = [
        r
        for r in openai_fake.requests.all()
        if isinstance(r.body, dict) and r.body.get("model") == "deepseek-reasoner"
    ]
    assert reasoner_turns
    for request in reasoner_turns:
        assert all("reasoning_content" not in message for message in request.body["messages"])
    assert "thinking: request to anthropic/claude-sonnet-4-5 (Anthropic's API)" in log


class ToolResultsFail(FakeOpenAIChat):
    """The reasoner answers 500 to every request that carries a tool result, so LiteLLM's fallback
    moves an open tool loop to Anthropic: the final tool-use turn then holds the reasoner's
    unsigned thinking, which Anthropic would refuse."""

    def _take_fault(self, body: Any, key: str) -> Fault | None:
        messages = body.get("messages") if isinstance(body, dict) else None
        if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
            return Fault(kind="status", status=500)
        return super()._take_fault(body, key)


def test_a_fallback_in_the_middle_of_a_tool_loop_turns_thinking_off_for_that_request(
    anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic, tmp_path: Path
) -> None:
    reasoner = ToolResultsFail(api_keys=(OPENAI_KEY,)).start()
    try:
        config = thinking_config(anthropic_fake, glm_fake, reasoner, THINKING_CALLBACKS)
        # Claude Code sends `thinking` for Claude model ids: this one is served by the reasoner.
        config["litellm_plugins"]["model_aliases"] = {
            "claude-opus-*": "deepseek-reasoner",
            "claude-*": "sonnet",
        }
        config["router_settings"]["fallbacks"] = [{"deepseek-reasoner": ["sonnet"]}]
        marker = uuid.uuid4().hex[:6]
        with ProxyProcess(config, tmp_path / "proxy", name="thinking-fallback") as proxy:
            # A session's first turn carries Claude Code's reminders after the prompt, which the
            # OpenAI-compatible fake would read as the prompt: open the session on Anthropic.
            opening = claude_turn(proxy, tmp_path / "claude", "hello", "claude-sonnet-4-5")
            anthropic_fake.requests.clear()
            result = claude_turn(
                proxy,
                tmp_path / "claude",
                f'CALL_TOOL Bash {{"command": "echo loop-{marker}", "description": "Print"}}',
                "claude-opus-4-1",
                opening["session_id"],
            )
            log = proxy.log_text()
    finally:
        reasoner.stop()
    assert f"The tool returned: loop-{marker}" in result["result"]
    closing = [r for r in anthropic_fake.requests.all() if r.path == "/v1/messages" and r.body.get("tools")]
    assert [r.status for r in closing] == [200]
    assert "thinking" not in closing[0].body  # off for this request: the reasoner's block had to go
    final_turn = [m for m in closing[0].body["messages"] if m["role"] == "assistant"][-1]
    assert [block["type"] for block in final_turn["content"]] == ["tool_use"]
    assert "thinking off: the final tool-use turn" in log
