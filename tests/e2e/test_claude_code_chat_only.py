"""The real Claude Code CLI, default settings (thinking on), through the proxy to the strict
chat-only OpenAI-compatible fake (8K output limit, no reasoning parameter, strict schemas)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.e2e.claude_cli import run_claude
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess

pytestmark = pytest.mark.e2e

CLIENT_KEY = "sk-ant-api03-e2e-client-key-never-forwarded-0000"


def claude_env() -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {MASTER_KEY}",
        "ANTHROPIC_MODEL": "claude-sonnet-4-5",
    }


def assert_no_claude_credential_reached(fake: FakeOpenAIChat) -> None:
    for request in fake.requests.all():
        dump = json.dumps(request.headers) + request.raw.decode("utf-8", "replace")
        assert "sk-ant-" not in dump, (
            f"a Claude credential reached the OpenAI-compatible fake at {request.path}"
        )


def test_plain_prompt(proxy: ProxyProcess, openai_fake: FakeOpenAIChat, tmp_path: Path) -> None:
    marker = f"pineapple-{uuid.uuid4().hex[:6]}"
    run = run_claude(f"Reply with the word {marker}", base_url=proxy.url, workdir=tmp_path, env=claude_env())
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert "fake-openai deepseek-chat says:" in run.stdout and marker in run.stdout
    main_turns = [
        r.body
        for r in openai_fake.requests.all()
        if r.path.endswith("/chat/completions") and r.body["model"] == "deepseek-chat"
    ]
    assert main_turns, "the main turn never reached the fake"
    for body in main_turns:
        assert body["max_tokens"] <= 8192
        assert "reasoning_effort" not in body
    assert_no_claude_credential_reached(openai_fake)


def test_bash_tool_round_trip(proxy: ProxyProcess, openai_fake: FakeOpenAIChat, tmp_path: Path) -> None:
    marker = f"e2e-bash-ok-{uuid.uuid4().hex[:6]}"
    prompt = f'CALL_TOOL Bash {{"command": "echo {marker}", "description": "Print a marker"}}'
    run = run_claude(
        prompt,
        base_url=proxy.url,
        workdir=tmp_path,
        env=claude_env(),
        extra_args=("--allowedTools", "Bash(echo:*)"),
    )
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    # The fake answers a tool result with "The tool returned: <output>": Claude Code ran the
    # command itself and sent its output back through the proxy.
    assert f"The tool returned: {marker}" in run.stdout
    tool_messages = [
        message
        for r in openai_fake.requests.all()
        if r.path.endswith("/chat/completions")
        for message in r.body["messages"]
        if message.get("role") == "tool"
    ]
    assert any(marker in json.dumps(message["content"]) for message in tool_messages)
    assert_no_claude_credential_reached(openai_fake)
