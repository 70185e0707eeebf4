"""Routing rules with the real Claude Code CLI: what Claude Code 2.1.332 really sends lands on the
rule's group.

What Claude Code sends (captured from the CLI against the strict fake, no proxy in between):

- the main loop: the session's model (by default `claude-opus-5-5` with an API key,
  `claude-sonnet-5-5` with a Claude login), `thinking` adaptive, its tools (`Agent`, `Bash`,
  `Read`, ...), `anthropic-beta: claude-code-20250219,...`;
- a background call: no tools, no thinking (or `{"type": "disabled"}`), `anthropic-beta` without
  `claude-code-20250219`, under the small-fast model: `ANTHROPIC_SMALL_FAST_MODEL` or
  `ANTHROPIC_DEFAULT_HAIKU_MODEL` when set, else `claude-haiku-5-5` with an API key but the MAIN
  model id with a Claude login (so a `claude-*haiku*` rule needs the haiku model set, as
  `claude-settings` sets it for provider groups). In `claude -p` a prompt hook
  (`{"type": "prompt"}` in the settings' `hooks`) makes one on every prompt;
- a subagent (the `Agent` tool): the parent's model id and thinking, plus
  `x-claude-code-agent-id: <17 hex>`; a subagent a subagent starts also carries
  `x-claude-code-parent-agent-id` (the spawning subagent's id). Every call of the session carries
  the same `x-claude-code-session-id` (and the same session id in `metadata.user_id`).

The proxy runs the shipped plugin order with four rules in `config.yaml` (a project's long
context -> `glm-long`, a project's images -> `kimi-vision`, background -> `glm-fast`, subagents ->
`kimi`) and the README's aliases for everything else (`claude-*` -> `anthropic`).
Each group is its own strict fake with its own credential and model id, so what each fake
received says where each call went. The user's own Claude login goes to Anthropic only.
"""

from __future__ import annotations

import json
import re
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_cli import ClaudeRun, run_claude
from tests.fakes.anthropic_messages import AnthropicModelProfile, AnthropicRequest, FakeAnthropic
from tests.harness import PLUGIN_CALLBACKS, ProxyProcess, plugin_config

pytestmark = pytest.mark.e2e

TOKEN = "routing-e2e-proxy-token-" + "t" * 30
OWN_LOGIN = "sk-ant-oat01-routing-own-login-" + "o" * 40
GLM_KEY = "sk-glm-routing-e2e-" + "g" * 24
KIMI_KEY = "sk-kimi-routing-e2e-" + "k" * 24
HAIKU = "claude-haiku-4-5"
GLM_MODEL = "glm-4.5-air"
LONG_MODEL = "glm-4.6"  # the same provider's long-context model: its own group
KIMI_MODEL = "kimi-k2"
VISION_MODEL = "kimi-vl"  # the same provider's vision model: its own group
# Claude Code's main loop is above (its system prompt and tools alone), its hook call below.
LONG_PROMPT_TOKENS = 5000
RULES = [
    # Only for a project that asks for it (a header), so the other tests' main loops stay on anthropic.
    {
        "name": "long-context",
        "when": {"header": {"x-project": "long-*"}, "input_tokens_above": LONG_PROMPT_TOKENS},
        "to": "glm-long",
    },
    {"name": "images", "when": {"header": {"x-project": "vision-*"}, "images": True}, "to": "kimi-vision"},
    {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
    {"name": "subagents", "when": {"subagent": True}, "to": "kimi"},
]
HOOK_PROMPT = "Check this prompt before it runs: $ARGUMENTS"
# A prompt hook: Claude Code asks its small-fast (haiku-class) model about every prompt.
PROMPT_HOOK_SETTINGS = json.dumps(
    {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "prompt", "prompt": HOOK_PROMPT}]}]}}
)
LOG_FIELD = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|[^\s\[]+)")


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=("sk-ant-api03-routing-unused-" + "u" * 20,), oauth_tokens=(OWN_LOGIN,))
    yield fake.start()
    fake.stop()


@pytest.fixture(scope="module")
def glm_fake() -> Iterator[FakeAnthropic]:
    """An Anthropic-compatible provider (GLM's endpoint): its own key, model and signing secret."""
    fake = FakeAnthropic(
        api_keys=(GLM_KEY,),
        oauth_tokens=(),
        models={
            GLM_MODEL: AnthropicModelProfile(max_output_tokens=64000),
            LONG_MODEL: AnthropicModelProfile(max_output_tokens=64000),
        },
        signing_secret=b"glm-routing-signing-secret",
    )
    yield fake.start()
    fake.stop()


@pytest.fixture(scope="module")
def kimi_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(
        api_keys=(KIMI_KEY,),
        oauth_tokens=(),
        models={
            KIMI_MODEL: AnthropicModelProfile(max_output_tokens=64000),
            VISION_MODEL: AnthropicModelProfile(max_output_tokens=64000),
        },
        signing_secret=b"kimi-routing-signing-secret",
    )
    yield fake.start()
    fake.stop()


def routing_config(anthropic: FakeAnthropic, glm: FakeAnthropic, kimi: FakeAnthropic) -> dict[str, Any]:
    def provider(group: str, fake: FakeAnthropic, model: str, key: str, **info: Any) -> dict[str, Any]:
        params = {"model": f"anthropic/{model}", "api_base": fake.url, "api_key": key}
        model_info = {"max_output_tokens": 64000, **info}
        return {"model_name": group, "litellm_params": params, "model_info": model_info}

    model_list = [
        {
            "model_name": "anthropic",
            "litellm_params": {"model": "anthropic/*", "api_base": anthropic.url},
            "model_info": {"max_output_tokens": 64000},
        },
        provider("glm-fast", glm, GLM_MODEL, GLM_KEY),
        provider("glm-long", glm, LONG_MODEL, GLM_KEY),
        provider("kimi", kimi, KIMI_MODEL, KIMI_KEY),
        provider("kimi-vision", kimi, VISION_MODEL, KIMI_KEY, supports_vision=True),
    ]
    return plugin_config(
        model_list,
        aliases={"claude-*": "anthropic"},
        callbacks=list(PLUGIN_CALLBACKS),  # the shipped order
        plugins={"anthropic_api_bases": [anthropic.url], "routing": {"rules": RULES}},
    )


@pytest.fixture(scope="module")
def proxy(
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    kimi_fake: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProxyProcess]:
    config = routing_config(anthropic_fake, glm_fake, kimi_fake)
    with ProxyProcess(
        config, tmp_path_factory.mktemp("routing"), env={"PROXY_STATIC_TOKEN": TOKEN}, name="routing"
    ) as process:
        yield process


@pytest.fixture(autouse=True)
def _clear(anthropic_fake: FakeAnthropic, glm_fake: FakeAnthropic, kimi_fake: FakeAnthropic) -> None:
    for fake in (anthropic_fake, glm_fake, kimi_fake):
        fake.requests.clear()


def claude(
    proxy: ProxyProcess, workdir: Path, prompt: str, *extra_args: str, headers: str = ""
) -> dict[str, Any]:
    """One `claude -p` run as `claude-settings` sets a user up: own login, the proxy token (and
    `headers`, more `ANTHROPIC_CUSTOM_HEADERS` lines)."""
    run: ClaudeRun = run_claude(
        prompt,
        base_url=proxy.url,
        workdir=workdir,
        env={
            "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {TOKEN}\nx-claude-token-mode: passthrough"
            + (f"\n{headers}" if headers else ""),
            "CLAUDE_CODE_OAUTH_TOKEN": OWN_LOGIN,
            # With a Claude login Claude Code sends its background calls under the main model id
            # unless a haiku model is set (an API key's default is `claude-haiku-5-5`).
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU,
        },
        extra_args=("--output-format", "json", "--allowedTools", "Bash(echo:*)", *extra_args),
    )
    assert run.returncode == 0, f"stdout={run.stdout[-2000:]!r} stderr={run.stderr[-2000:]!r}"
    result = json.loads(run.stdout)
    assert result.get("is_error") is False, result
    return result


def messages(fake: FakeAnthropic) -> list[AnthropicRequest]:
    return [r for r in fake.requests.all() if isinstance(r, AnthropicRequest) and r.path == "/v1/messages"]


def tool_names(request: AnthropicRequest) -> set[str]:
    return {tool.get("name") for tool in request.body.get("tools") or []}


def task_of(request: AnthropicRequest) -> str:
    """The conversation's own task (the prompt, or a subagent's): its first user turn's last text
    that is not one of Claude Code's reminders, as the fake reads it."""
    first = request.body["messages"][0]["content"]
    texts = [first] if isinstance(first, str) else [p.get("text", "") for p in first if isinstance(p, dict)]
    own = [text for text in texts if not text.lstrip().startswith("<system-reminder>")]
    return (own or [""])[-1].strip()


def since_last_assistant(request: AnthropicRequest) -> list[Any]:
    """The messages after the conversation's last assistant turn (the tool results and reminders)."""
    messages = request.body["messages"]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    return messages[last + 1 :]


def session_of(request: AnthropicRequest) -> str:
    return str(json.loads(request.body["metadata"]["user_id"])["session_id"])


def routes(log: str) -> list[tuple[str, str, str]]:
    """(model, group, route) of every request log line (`request: ...`), quotes removed."""
    found = []
    for line in log.splitlines():
        if "request: " not in line:
            continue
        fields = {key: value.strip("'") for key, value in LOG_FIELD.findall(line.split("request: ", 1)[1])}
        found.append((fields.get("model", ""), fields.get("group", ""), fields.get("route", "")))
    return found


def logged_routes(proxy: ProxyProcess, log_before: int, timeout: float = 15.0) -> list[tuple[str, str, str]]:
    """`routes` of the log written since `log_before`, once every `/v1/messages` request the proxy
    answered has its request line: LiteLLM runs the logging callbacks after the response, so the
    last line can come after Claude Code has exited (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        log = proxy.log_text()[log_before:]
        answered = len(re.findall(r'"POST /v1/messages[^"]*" \d{3}', log))
        seen = routes(log)
        if len(seen) >= answered or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def agent_call(description: str, task: str) -> str:
    """The fake's `CALL_TOOL` script for Claude Code's subagent tool (`Agent` in 2.1.332), in the
    foreground so the caller waits for the subagent's answer."""
    arguments = {
        "description": description,
        "prompt": task,
        "subagent_type": "general-purpose",
        "run_in_background": False,
    }
    return "CALL_TOOL Agent " + json.dumps(arguments)


def test_a_background_call_and_the_main_loop_of_one_session_land_on_different_groups(
    proxy: ProxyProcess,
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    kimi_fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    marker = f"main-{uuid.uuid4().hex[:6]}"
    log_before = len(proxy.log_text())
    result = claude(proxy, tmp_path, f"Reply with {marker}", "--settings", PROMPT_HOOK_SETTINGS)
    assert "fake-anthropic claude-" in result["result"] and marker in result["result"]

    background = messages(glm_fake)
    main = messages(anthropic_fake)
    assert background and main and messages(kimi_fake) == []
    # The haiku-class hook call went to GLM, under GLM's model id and key, and only there.
    assert all(r.body["model"] == GLM_MODEL and r.credential == GLM_KEY for r in background)
    assert all(task_of(r).startswith("Check this prompt before it runs") for r in background)
    assert all(not r.body.get("tools") for r in background)
    assert [r.status for r in background][-1] == 200
    # The main loop (tools, thinking) stayed on Anthropic with the user's own login.
    assert all(r.credential == OWN_LOGIN for r in main)
    assert all("Agent" in tool_names(r) and task_of(r).endswith(marker) for r in main)
    assert main[-1].status == 200 and main[-1].body["model"].startswith("claude-")
    # One session: the same session id on both groups.
    assert {session_of(r) for r in background} == {session_of(r) for r in main}

    seen = logged_routes(proxy, log_before)
    assert (HAIKU, "glm-fast", "background") in seen, seen
    assert any(group == "anthropic" and route == "-" for _, group, route in seen), seen
    assert all(route == "background" for model, _, route in seen if "haiku" in model), seen


def test_a_subagents_calls_land_on_the_subagent_rules_group(
    proxy: ProxyProcess,
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    kimi_fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    marker = uuid.uuid4().hex[:6]
    inner = "CALL_TOOL Bash " + json.dumps({"command": f"echo nested-{marker}", "description": "Print"})
    outer = agent_call("Nested echo", inner)  # the subagent starts a subagent, which runs Bash
    prompt = agent_call("Echo a marker", outer)
    log_before = len(proxy.log_text())
    result = claude(proxy, tmp_path, prompt)
    assert result["result"].startswith("The tool returned:"), result["result"]
    assert result["subagent_stats"]["spawned"] == 2 and result["subagent_stats"]["completed"] == 2

    sub = messages(kimi_fake)
    main = messages(anthropic_fake)
    assert main and messages(glm_fake) == []
    assert all(r.body["model"] == KIMI_MODEL and r.credential == KIMI_KEY for r in sub)
    # The subagent (it starts the nested one) and the nested subagent (it runs the Bash echo): at
    # least a tool call and the answer to its result each, all on kimi.
    outer_calls = [r for r in sub if task_of(r).endswith(outer)]
    inner_calls = [r for r in sub if task_of(r).endswith(inner)]
    assert len(outer_calls) >= 2 and len(inner_calls) >= 2, [task_of(r)[-200:] for r in sub]
    # The Bash result is in the turn after the subagent's last assistant message (Claude Code may
    # send a mid-conversation `system` message after it, so not always the very last message).
    assert any(f"nested-{marker}" in json.dumps(since_last_assistant(r)) for r in inner_calls)
    assert sub[-1].status == 200
    # The main loop's calls (the Agent call and the answer to its result) stayed on Anthropic.
    assert all(r.credential == OWN_LOGIN for r in main)
    assert main and all(task_of(r).endswith(prompt) for r in main)
    assert {session_of(r) for r in sub} == {session_of(r) for r in main}

    seen = logged_routes(proxy, log_before)
    assert sum(1 for _, group, route in seen if (group, route) == ("kimi", "subagents")) == len(sub), seen
    assert all(route == "subagents" for _, group, route in seen if group == "kimi"), seen
    assert any(route == "-" and group == "anthropic" for _, group, route in seen), seen


def test_a_projects_long_main_loop_goes_to_the_long_context_group_by_the_token_estimate(
    proxy: ProxyProcess,
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    kimi_fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    """`header` AND `input_tokens_above` on Claude Code's real traffic: the same project's main
    loop (its system prompt and tools are well above the threshold) goes to the long-context group,
    its small hook call is below it and falls through to the background rule."""
    marker = f"long-{uuid.uuid4().hex[:6]}"
    log_before = len(proxy.log_text())
    result = claude(
        proxy,
        tmp_path,
        f"Reply with {marker}",
        "--settings",
        PROMPT_HOOK_SETTINGS,
        headers="x-project: long-context-e2e",
    )
    assert f"fake-anthropic {LONG_MODEL} says:" in result["result"] and marker in result["result"]

    long_calls = [r for r in messages(glm_fake) if r.body["model"] == LONG_MODEL]
    background = [r for r in messages(glm_fake) if r.body["model"] == GLM_MODEL]
    assert messages(anthropic_fake) == [] and messages(kimi_fake) == []
    assert long_calls and all("Agent" in tool_names(r) and task_of(r).endswith(marker) for r in long_calls)
    assert background and all(task_of(r).startswith("Check this prompt") for r in background)
    assert long_calls[-1].status == 200 and all(r.credential == GLM_KEY for r in messages(glm_fake))

    seen = logged_routes(proxy, log_before)
    assert {(group, route) for _, group, route in seen} == {
        ("glm-long", "long-context"),
        ("glm-fast", "background"),
    }, seen


def png(width: int = 16, height: int = 16) -> bytes:
    """A small valid PNG (an opaque grey square), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def test_a_screenshot_claude_code_reads_moves_the_tool_loop_to_the_vision_group(
    proxy: ProxyProcess,
    anthropic_fake: FakeAnthropic,
    glm_fake: FakeAnthropic,
    kimi_fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    """Claude Code's Read tool returns an image block in the tool result: the request that carries
    it goes to the images rule's group, mid tool loop, after Anthropic (with its signed thinking)
    asked for the Read."""
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "screenshot.png").write_bytes(png())
    prompt = "CALL_TOOL Read " + json.dumps({"file_path": str(workdir / "screenshot.png")})
    log_before = len(proxy.log_text())
    result = claude(proxy, workdir, prompt, "--allowedTools", "Read", headers="x-project: vision-e2e")
    assert result["result"].startswith("The tool returned:"), result["result"]

    main = messages(anthropic_fake)
    vision = [r for r in messages(kimi_fake) if r.body["model"] == VISION_MODEL]
    assert main and all(not has_image(r) for r in main)
    assert vision and all(has_image(r) for r in vision) and vision[-1].status == 200
    # Anthropic's signed thinking travels with the tool loop (`reasoning_input` keep, the recipes'
    # default for Anthropic-compatible endpoints). This strict fake verifies signatures with its
    # own key and refuses it; what it served carried none (LiteLLM's own retry drops it).
    assert all(not thinking_blocks(r) for r in vision if r.status == 200)
    seen = logged_routes(proxy, log_before)
    assert [route for _, group, route in seen if group == "kimi-vision"] == ["images"], seen
    assert all(route == "-" for _, group, route in seen if group != "kimi-vision"), seen


def has_image(request: AnthropicRequest) -> bool:
    return '"type": "image"' in json.dumps(request.body["messages"])


def thinking_blocks(request: AnthropicRequest) -> list[dict[str, Any]]:
    return [
        block
        for message in request.body["messages"]
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") in ("thinking", "redacted_thinking")
    ]
