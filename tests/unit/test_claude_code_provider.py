"""The claude-code provider's pure pieces: the conversation mapping, the transcript, the process
environment, usage, the process gate, its settings; the fake's Claude Code identity check; and
that the test install brings claude-agent-sdk (its extra, pinned in both locks)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from litellm_plugins.claude_code_provider.conversation import (
    TOOLS_REFUSED,
    ConversationError,
    Turn,
    conversation_from,
    refuse_tools,
    transcript_lines,
)
from litellm_plugins.claude_code_provider.environment import KEPT, process_environment
from litellm_plugins.claude_code_provider.process_gate import GateFull, GateTimeout, ProcessGate
from litellm_plugins.claude_code_provider.settings import ClaudeCodeSettings, parse_claude_code_settings
from litellm_plugins.claude_code_provider.translation import finish_reason, openai_usage, text_delta
from litellm_plugins.core.settings import SettingsError
from tests.fakes.anthropic_messages import CLAUDE_CODE_ONLY, RequestRejected, check_claude_code_identity
from tests.harness import REPO_ROOT

TOKEN = "sk-ant-oat01-unit-" + "t" * 40


# -- conversation --------------------------------------------------------------------------------
def test_system_history_and_prompt_are_kept_apart() -> None:
    conversation = conversation_from(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "my name is Ada"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}]},
            {"role": "developer", "content": "Answer in French."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "what"}, {"type": "text", "text": "is it?"}],
            },
        ]
    )
    assert conversation.system == "Be brief.\n\nAnswer in French."
    assert conversation.history == (Turn("user", "my name is Ada"), Turn("assistant", "Hello Ada."))
    assert conversation.prompt == "what\nis it?"


def test_no_system_message_means_no_system_prompt_of_the_callers() -> None:
    assert conversation_from([{"role": "user", "content": "hi"}]).system is None


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "at least one message"),
        (
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            "must be the user's",
        ),
        ([{"role": "system", "content": "only a system prompt"}], "must be the user's"),
        ([{"role": "user", "content": "   "}], "non-empty text"),
        ([{"role": "critic", "content": "x"}], "role must be"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}],
            "text parts",
        ),
        ([{"role": "tool", "tool_call_id": "1", "content": "42"}, {"role": "user", "content": "x"}], "tools"),
        (
            [
                {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
                {"role": "user", "content": "x"},
            ],
            "tools",
        ),
    ],
)
def test_what_claude_code_cannot_run_is_refused_with_the_reason(messages: list, message: str) -> None:
    with pytest.raises(ConversationError, match=message):
        conversation_from(messages)


def test_tools_in_the_request_are_refused_naming_the_limitation() -> None:
    refuse_tools({"max_tokens": 10})
    for name in ("tools", "functions", "tool_choice"):
        with pytest.raises(ConversationError) as refused:
            refuse_tools({name: [{"type": "function"}]})
        assert str(refused.value) == TOOLS_REFUSED
    assert "does not support tools" in TOOLS_REFUSED and "pool route" in TOOLS_REFUSED


def test_the_history_is_a_linked_transcript_claude_code_can_resume() -> None:
    lines = [
        json.loads(line)
        for line in transcript_lines(
            (Turn("user", "a"), Turn("assistant", "b"), Turn("user", "c")), "sid", "/scratch", "sonnet"
        )
    ]
    assert [entry["type"] for entry in lines] == ["user", "assistant", "user"]
    assert lines[0]["parentUuid"] is None
    assert [entry["parentUuid"] for entry in lines[1:]] == [lines[0]["uuid"], lines[1]["uuid"]]
    assert lines[0]["message"] == {"role": "user", "content": "a"}
    assert lines[1]["message"]["content"] == [{"type": "text", "text": "b"}]
    assert lines[1]["message"]["role"] == "assistant" and lines[1]["message"]["model"] == "sonnet"
    assert {entry["sessionId"] for entry in lines} == {"sid"} and {entry["cwd"] for entry in lines} == {
        "/scratch"
    }


# -- environment ---------------------------------------------------------------------------------
def test_the_process_gets_none_of_the_proxys_secrets() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/operator",
        "CLAUDE_OAUTH_TOKENS": f"{TOKEN},sk-ant-oat01-other",
        "LITELLM_MASTER_KEY": "sk-master",
        "OPENAI_API_KEY": "sk-openai",
        "ANTHROPIC_API_KEY": "sk-ant-api03-operator",
        "CLAUDE_AGENT_SDK_CLIENT_APP": "app/1",
        "HTTPS_PROXY": "http://proxy:3128",
    }
    env = process_environment(parent, "/scratch/home", TOKEN, "https://api.anthropic.com", 1000)
    assert (
        env["CLAUDE_OAUTH_TOKENS"] == "" and env["LITELLM_MASTER_KEY"] == "" and env["OPENAI_API_KEY"] == ""
    )
    assert env["ANTHROPIC_API_KEY"] == ""  # an OAuth run does not inherit the operator's API key
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == TOKEN
    assert env["HOME"] == "/scratch/home" and env["CLAUDE_CONFIG_DIR"] == "/scratch/home/.claude"
    assert env["ANTHROPIC_BASE_URL"] == "https://api.anthropic.com"
    assert env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "1000"
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "0"  # the provider fails over itself
    assert "PATH" not in env and "HTTPS_PROXY" not in env  # inherited as they are
    assert "CLAUDE_AGENT_SDK_CLIENT_APP" not in env  # the SDK's own
    assert {"PATH", "HTTPS_PROXY"} <= KEPT
    secrets = {value for name, value in parent.items() if name not in KEPT and "sk-" in value}
    assert not secrets & set(env.values())


def test_an_api_key_in_the_pool_runs_as_an_api_key() -> None:
    env = process_environment({}, "/h", "sk-ant-api03-key", None)
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-api03-key" and "CLAUDE_CODE_OAUTH_TOKEN" not in env
    assert "ANTHROPIC_BASE_URL" not in env


# -- translation ---------------------------------------------------------------------------------
def test_text_deltas_are_the_streamed_tokens() -> None:
    assert text_delta({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}) == "Hi"
    assert (
        text_delta({"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "x"}})
        is None
    )
    assert text_delta({"type": "message_start", "message": {}}) is None


def test_usage_counts_cached_input_as_openai_does() -> None:
    usage = openai_usage(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5,
            "output_tokens": 7,
        }
    )
    assert usage["prompt_tokens"] == 115 and usage["completion_tokens"] == 7 and usage["total_tokens"] == 122
    assert usage["prompt_tokens_details"] == {"cached_tokens": 100}
    assert usage["cache_read_input_tokens"] == 100 and usage["cache_creation_input_tokens"] == 5
    assert openai_usage(None)["total_tokens"] == 0
    assert openai_usage({"input_tokens": True, "output_tokens": -3})["total_tokens"] == 0


def test_stop_reasons_map_to_finish_reasons() -> None:
    assert finish_reason("end_turn") == "stop" and finish_reason("max_tokens") == "length"
    assert finish_reason(None) == "stop"


# -- the process gate ----------------------------------------------------------------------------
def test_the_gate_queues_then_refuses_and_frees_its_slots() -> None:
    async def scenario() -> list[str]:
        gate = ProcessGate(max_running=1, max_waiting=1, queue_seconds=5)
        release = asyncio.Event()
        events: list[str] = []

        async def hold() -> None:
            async with gate.slot():
                events.append("first running")
                await release.wait()

        async def queued() -> None:
            async with gate.slot():
                events.append("queued ran")

        first = asyncio.create_task(hold())
        for _ in range(100):
            if gate.running:
                break
            await asyncio.sleep(0)
        second = asyncio.create_task(queued())
        for _ in range(100):
            if gate.waiting:
                break
            await asyncio.sleep(0)
        assert (gate.running, gate.waiting) == (1, 1)
        with pytest.raises(GateFull, match="CLAUDE_CODE_PROVIDER_MAX_QUEUE=1"):
            async with gate.slot():
                pass
        release.set()
        await asyncio.gather(first, second)
        assert (gate.running, gate.waiting) == (0, 0)
        async with gate.slot():
            events.append("free again")
        return events

    assert asyncio.run(scenario()) == ["first running", "queued ran", "free again"]


def test_a_request_that_waits_too_long_gets_a_timeout() -> None:
    async def scenario() -> None:
        gate = ProcessGate(max_running=1, max_waiting=4, queue_seconds=0.01)
        async with gate.slot():
            with pytest.raises(GateTimeout, match="CLAUDE_CODE_PROVIDER_QUEUE_SECONDS"):
                async with gate.slot():
                    pass
        assert (gate.running, gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_a_free_gate_never_refuses_even_with_no_queue() -> None:
    async def scenario() -> None:
        gate = ProcessGate(max_running=2, max_waiting=0, queue_seconds=1)
        async with gate.slot(), gate.slot():
            assert gate.running == 2

    asyncio.run(scenario())


# -- settings ------------------------------------------------------------------------------------
def test_settings_defaults_and_values() -> None:
    assert parse_claude_code_settings({}) == ClaudeCodeSettings()
    settings = parse_claude_code_settings(
        {
            "CLAUDE_CODE_PROVIDER_MAX_PROCESSES": "8",
            "CLAUDE_CODE_PROVIDER_MAX_QUEUE": "0",
            "CLAUDE_CODE_PROVIDER_QUEUE_SECONDS": "2.5",
            "CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS": "30",
            "CLAUDE_CODE_PROVIDER_CLI": "/opt/claude",
        }
    )
    assert settings == ClaudeCodeSettings(8, 0, 2.5, 30.0, "/opt/claude")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLAUDE_CODE_PROVIDER_MAX_PROCESSES", "0"),
        ("CLAUDE_CODE_PROVIDER_MAX_PROCESSES", "2.5"),
        ("CLAUDE_CODE_PROVIDER_MAX_QUEUE", "-1"),
        ("CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS", "nan"),
        ("CLAUDE_CODE_PROVIDER_QUEUE_SECONDS", "soon"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        parse_claude_code_settings({name: value})


# -- the strict fake's identity check ------------------------------------------------------------
CLAUDE_CODE_HEADERS = {"user-agent": "claude-cli/2.1.332 (external, sdk-py, agent-sdk/0.2.189)"}
CLAUDE_CODE_BETAS = ("claude-code-20250219", "oauth-2025-04-20")


def captured_system(identity: str) -> list[dict[str, str]]:
    return [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.bd3; cc_entrypoint=sdk-py;"},
        {"type": "text", "text": identity},
        {"type": "text", "text": "You are a terse assistant."},
    ]


@pytest.mark.parametrize(
    "identity",
    [
        "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
        "You are Claude Code, Anthropic's official CLI for Claude.",
    ],
)
def test_claude_codes_requests_pass_the_identity_check(identity: str) -> None:
    check_claude_code_identity(CLAUDE_CODE_HEADERS, CLAUDE_CODE_BETAS, {"system": captured_system(identity)})


@pytest.mark.parametrize(
    ("headers", "betas", "body"),
    [
        # LiteLLM's own translation of an OpenAI request: the caller's system prompt, its user agent.
        ({"user-agent": "litellm/1.108.7"}, ("oauth-2025-04-20",), {"system": "You are a terse assistant."}),
        (CLAUDE_CODE_HEADERS, CLAUDE_CODE_BETAS, {"system": "You are a terse assistant."}),
        (CLAUDE_CODE_HEADERS, CLAUDE_CODE_BETAS, {}),
        (
            CLAUDE_CODE_HEADERS,
            ("oauth-2025-04-20",),
            {"system": captured_system("You are Claude Code, Anthropic's official CLI for Claude.")},
        ),
        (
            {"user-agent": "python-httpx/0.28"},
            CLAUDE_CODE_BETAS,
            {"system": captured_system("You are Claude Code, Anthropic's official CLI for Claude.")},
        ),
    ],
)
def test_anything_else_with_an_oauth_token_is_refused(headers: dict, betas: tuple, body: dict) -> None:
    with pytest.raises(RequestRejected) as refused:
        check_claude_code_identity(headers, betas, body)
    assert refused.value.status == 400 and refused.value.message == CLAUDE_CODE_ONLY


# -- install -------------------------------------------------------------------------------------
def test_the_test_install_brings_the_sdk_pinned_in_both_locks() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^claude-code = \["claude-agent-sdk>=0\.2\.189,<0\.3"\]$', pyproject, re.MULTILINE)
    test_script = (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert 'bootstrap.sh" "test,claude-code"' in test_script
    for lock in ("shipped.txt", "lowest.txt"):
        pins = (REPO_ROOT / "locks" / lock).read_text(encoding="utf-8").splitlines()
        assert "claude-agent-sdk==0.2.189" in pins, lock
