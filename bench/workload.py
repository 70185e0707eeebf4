"""The Claude Code request the benchmarks send, derived from a real one.

`tests/fixtures/claude_code_request.json` is a request Claude Code 2.1 sent (24 tools, a 26 KB
system prompt). The benchmarks cut it down or build it up, keeping Claude Code's own shapes
(system blocks with `cache_control`, JSON Schema 2020-12 tool schemas with `$schema`, a
`<system-reminder>` text part, a tool loop):

- `claude_code_request(tools=10, system_chars=8192)`: the proxy benchmark's request: an 8 KB
  system prompt, 10 tools, 3 messages (the prompt, an assistant turn calling `Read`, the tool
  result); about 48 KB of JSON;
- `claude_code_request(tools=25, ...)`: every fixture tool plus an MCP-style tool whose schema
  has a top-level `anyOf` and `$defs`, for the transformer microbenchmark.

`thinking` and `output_config` are left out: stock LiteLLM rejects `thinking` on an `openai/`
deployment (see the README), and every target must answer the same request.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, Final

FIXTURE: Final = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "claude_code_request.json"
MODEL: Final = "claude-sonnet-4-5"
# The tools Claude Code offers in every session first, then the rest in fixture order.
PREFERRED_TOOLS: Final = (
    "Bash",
    "Read",
    "Edit",
    "Write",
    "Agent",
    "WebFetch",
    "WebSearch",
    "Skill",
    "NotebookEdit",
    "TaskCreate",
)
# Claude Code's headers, minus credentials (each target gets its own).
HEADER_NAMES: Final = (
    "anthropic-beta",
    "anthropic-version",
    "anthropic-dangerous-direct-browser-access",
    "User-Agent",
    "x-app",
    "X-Claude-Code-Session-Id",
    "X-Stainless-Lang",
    "X-Stainless-Package-Version",
    "X-Stainless-Runtime",
    "X-Stainless-Retry-Count",
    "X-Stainless-Timeout",
)
MCP_TOOL: Final = {
    "name": "mcp__tracker__create_issue",
    "description": "Create an issue in the tracker. Either a title with a body, or a template id.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"label": {"type": "string", "minLength": 1, "maxLength": 50}},
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 256},
                    "body": {"type": "string"},
                    "labels": {"type": "array", "items": {"$ref": "#/$defs/label"}, "uniqueItems": True},
                },
                "required": ["title"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "template": {"type": "string", "const": "bug"},
                    "priority": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                },
                "required": ["template"],
            },
        ],
    },
}
TOOL_RESULT: Final = "\n".join(
    f"{line:>6}\t{text}"
    for line, text in enumerate(["# litellm_plugins", "", "Plugins for a stock LiteLLM proxy."] * 40, 1)
)


@cache
def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def claude_code_headers() -> dict[str, str]:
    headers = fixture()["headers"]
    return {name.lower(): headers[name] for name in HEADER_NAMES if name in headers} | {
        "content-type": "application/json"
    }


def _system(chars: int) -> list[dict[str, Any]]:
    blocks = copy.deepcopy(fixture()["body"]["system"])
    fixed = sum(len(block["text"]) for block in blocks[:-1])
    blocks[-1]["text"] = blocks[-1]["text"][: max(0, chars - fixed)]
    return blocks


def _tools(count: int) -> list[dict[str, Any]]:
    every = {tool["name"]: tool for tool in fixture()["body"]["tools"]}
    order = [name for name in PREFERRED_TOOLS if name in every] + [
        name for name in every if name not in PREFERRED_TOOLS
    ]
    chosen = [copy.deepcopy(every[name]) for name in order[:count]]
    if count > len(chosen):
        chosen.append(copy.deepcopy(MCP_TOOL))
    return chosen


def _messages() -> list[dict[str, Any]]:
    first = copy.deepcopy(fixture()["body"]["messages"][0])
    first["content"][-1]["text"] = "Read README.md and tell me in one line what this project is."
    return [
        first,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I'll read the README first."},
                {
                    "type": "tool_use",
                    "id": "toolu_01BenchRead000000000001",
                    "name": "Read",
                    "input": {"file_path": "/work/project/README.md"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01BenchRead000000000001",
                    "content": TOOL_RESULT,
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
    ]


def claude_code_request(
    *,
    tools: int = 10,
    system_chars: int = 8192,
    stream: bool = False,
    model: str = MODEL,
    max_tokens: int = 32000,
) -> dict[str, Any]:
    """A fresh copy of the benchmark request (callers may mutate it)."""
    body = fixture()["body"]
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": _system(system_chars),
        "messages": _messages(),
        "tools": _tools(tools),
        "metadata": copy.deepcopy(body["metadata"]),
        "stream": stream,
    }


def openai_equivalent(request: dict[str, Any]) -> dict[str, Any]:
    """About what LiteLLM sends upstream for `request`: used to time the upstream alone (the floor)."""
    system = "\n".join(block["text"] for block in request["system"])
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": json.dumps(request["messages"][0]["content"])})
    messages.append(
        {
            "role": "assistant",
            "content": "I'll read the README first.",
            "tool_calls": [
                {
                    "id": "toolu_01BenchRead000000000001",
                    "type": "function",
                    "function": {"name": "Read", "arguments": '{"file_path": "/work/project/README.md"}'},
                }
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": "toolu_01BenchRead000000000001", "content": TOOL_RESULT})
    tools = [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
        }
        for t in request["tools"]
    ]
    out = {
        "model": request["model"],
        "max_tokens": 8192,
        "messages": messages,
        "tools": tools,
        "stream": request["stream"],
    }
    if request["stream"]:
        out["stream_options"] = {"include_usage": True}
    return out


def describe(request: dict[str, Any] | None = None) -> str:
    sample = request or claude_code_request()
    return (
        f"{sum(len(b['text']) for b in sample['system']):,}-character system prompt, {len(sample['tools'])} "
        f"tools, {len(sample['messages'])} messages, {len(json.dumps(sample)):,} bytes of JSON"
    )


if __name__ == "__main__":
    print(describe())
