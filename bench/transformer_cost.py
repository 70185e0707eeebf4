"""What the request transformer costs per call on a Claude Code request, from 1 to 25 tools.

Run it from the repository root:

    python bench/transformer_cost.py

The request is `bench/workload.py`'s Claude Code request (8 KB system prompt, 3 messages) with
1, 5, 10 and 25 tools (the 25th is an MCP-style tool whose schema has a top-level `anyOf` and
`$defs`), in the shape LiteLLM hands the deployment hook. For each size the table shows
microseconds per call, best of the repeats, for:

- `alias`:     `resolve_model_group` (once per client request: `claude-sonnet-4-5` -> a group);
- `profile`:   `profile_from_kwargs` (the deployment's `model_info`, once per attempt);
- `openai`:    `transform_anthropic_request` for an OpenAI-compatible chat deployment
               (`max_tokens` clamped, `thinking` dropped; Anthropic-shaped tools are left to
               LiteLLM's translation);
- `openai-tools`: `transform_openai_request` on the translated OpenAI form (tool schemas
               cleaned for `tool_schema: openai`);
- `gemini-tools`: the same with `tool_schema: gemini` (the strict subset, recursively);
- `anthropic`: `transform_anthropic_request` for an Anthropic-speaking deployment;
- `hooks`:     both transformer hooks awaited as LiteLLM awaits them (alias + deployment hook).

Times are this thread's CPU time (`time.thread_time_ns`), so other programs on a busy machine
do not inflate them. The last row divides the 25-tool cost by the 1-tool cost. The numbers are
printed, never judged: the script exits 0 unless something raises.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importing LiteLLM must not go online

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workload
from litellm_plugins.core.deployment import profile_from_kwargs
from litellm_plugins.core.settings import parse_settings
from litellm_plugins.transformer.hook import RequestTransformer
from litellm_plugins.transformer.model_aliases import resolve_model_group
from litellm_plugins.transformer.request_rules import transform_anthropic_request, transform_openai_request

TOOL_COUNTS: Final = (1, 5, 10, 25)
ITERATIONS: Final = 300
REPEATS: Final = 5
ALIASES: Final = (("claude-*haiku*", "anthropic-fast"), ("claude-*", "deepseek"))
GROUPS: Final = frozenset({"anthropic", "anthropic-fast", "deepseek", "glm"})
DEEPSEEK_INFO: Final = {"max_output_tokens": 8192, "supports_reasoning": False, "reasoning_input": "drop"}
GEMINI_INFO: Final = {"max_output_tokens": 65536, "supports_reasoning": True, "tool_schema": "gemini"}
ANTHROPIC_INFO: Final = {"max_output_tokens": 32768, "supports_reasoning": True}
OPERATIONS: Final = ("alias", "profile", "openai", "openai-tools", "gemini-tools", "anthropic", "hooks")


@dataclass(frozen=True)
class Row:
    tools: int
    request_bytes: int
    microseconds: dict[str, float]  # per operation: the best measurement, in µs per call


def anthropic_kwargs(
    tools: int, model_info: dict[str, Any], model: str = "openai/deepseek-chat", provider: str = "openai"
) -> dict[str, Any]:
    """What LiteLLM hands `async_pre_call_deployment_hook` for one /v1/messages attempt."""
    request = workload.claude_code_request(tools=tools, stream=True)
    request.pop("model")
    request["thinking"] = {"type": "adaptive"}
    request["output_config"] = {"effort": "high"}
    return {
        "model": model,
        "custom_llm_provider": provider,
        "api_base": "https://api.deepseek.com/v1" if provider == "openai" else None,
        "model_info": dict(model_info),
        "litellm_metadata": {
            "model_group": "deepseek",
            "litellm_plugins_requested_model": "claude-sonnet-4-5",
        },
        **request,
    }


def openai_kwargs(tools: int, model_info: dict[str, Any]) -> dict[str, Any]:
    request = workload.openai_equivalent(workload.claude_code_request(tools=tools, stream=True))
    request.pop("model")
    return {
        "model": "openai/deepseek-chat",
        "custom_llm_provider": "openai",
        "api_base": "https://openrouter.ai/api/v1",
        "model_info": dict(model_info),
        "metadata": {"model_group": "openrouter"},
        **request,
    }


def microseconds_per_call(call: Callable[[], Any], iterations: int) -> float:
    gc.disable()  # a collection landing in one cell and not another is noise, not cost
    try:
        # CPU time of this thread, not wall time: other programs on a busy machine do not count.
        start = time.thread_time_ns()
        for _ in range(iterations):
            call()
        return (time.thread_time_ns() - start) / iterations / 1000
    finally:
        gc.enable()


def operations(tools: int) -> dict[str, Callable[[], Any]]:
    plain = anthropic_kwargs(tools, DEEPSEEK_INFO)
    native = anthropic_kwargs(
        tools, ANTHROPIC_INFO, model="anthropic/claude-sonnet-4-5", provider="anthropic"
    )
    translated = openai_kwargs(tools, DEEPSEEK_INFO)
    gemini = openai_kwargs(tools, GEMINI_INFO)
    deepseek = profile_from_kwargs(plain)
    gemini_profile = profile_from_kwargs(gemini)
    anthropic_profile = profile_from_kwargs(native)
    transformer = RequestTransformer(
        settings=parse_settings({"model_aliases": dict(ALIASES)}), group_names=lambda: GROUPS
    )
    loop = asyncio.new_event_loop()

    async def both_hooks() -> None:
        # Each request brings its own metadata dict (the hook appends what it changed to it).
        data = {"model": "claude-sonnet-4-5", "litellm_metadata": {}}
        await transformer.async_pre_call_hook(None, None, data, "anthropic_messages")
        await transformer.async_pre_call_deployment_hook(
            {**plain, "litellm_metadata": dict(plain["litellm_metadata"])}, "anthropic_messages"
        )

    return {
        "alias": lambda: resolve_model_group("claude-sonnet-4-5", ALIASES, GROUPS),
        "profile": lambda: profile_from_kwargs(plain),
        "openai": lambda: transform_anthropic_request(plain, deepseek),
        "openai-tools": lambda: transform_openai_request(translated, deepseek),
        "gemini-tools": lambda: transform_openai_request(gemini, gemini_profile),
        "anthropic": lambda: transform_anthropic_request(native, anthropic_profile),
        "hooks": lambda: loop.run_until_complete(both_hooks()),
    }


def run(
    tool_counts: Sequence[int] = TOOL_COUNTS, iterations: int = ITERATIONS, repeats: int = REPEATS
) -> list[Row]:
    """Best of `repeats` per cell; rounds interleave sizes and operations so drift hits them all."""
    ops = {tools: operations(tools) for tools in tool_counts}
    gc.collect()
    gc.freeze()  # LiteLLM's import leaves a large heap: keep collections from rescanning it
    for table in ops.values():  # warm up
        for call in table.values():
            microseconds_per_call(call, max(1, iterations // 10))
    best = {(tools, name): float("inf") for tools in tool_counts for name in OPERATIONS}
    for _ in range(repeats):
        for (tools, name), so_far in best.items():
            best[tools, name] = min(so_far, microseconds_per_call(ops[tools][name], iterations))
    return [
        Row(
            tools,
            len(str(anthropic_kwargs(tools, DEEPSEEK_INFO))),
            {name: best[tools, name] for name in OPERATIONS},
        )
        for tools in tool_counts
    ]


def format_table(rows: Sequence[Row]) -> str:
    lines = [f"{'tools':>6}{'~bytes':>9}" + "".join(f"{name + ' µs':>16}" for name in OPERATIONS)]
    for row in rows:
        lines.append(
            f"{row.tools:>6}{row.request_bytes:>9,}"
            + "".join(f"{row.microseconds[name]:>16,.2f}" for name in OPERATIONS)
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        label = f"{last.tools}/{first.tools}"
        lines.append(
            f"{label:>6}{'':>9}"
            + "".join(f"{last.microseconds[name] / first.microseconds[name]:>15.2f}x" for name in OPERATIONS)
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--tools",
        type=int,
        nargs="+",
        default=list(TOOL_COUNTS),
        help="tool counts, smallest first (at most 25)",
    )
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="calls per measurement")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="measurements per cell; the best counts")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(sorted(min(25, max(1, t)) for t in args.tools), args.iterations, args.repeats)
    sys.stdout.write(format_table(rows) + "\n")
    sys.stdout.write(
        f"({args.iterations:,} calls x {args.repeats} per cell, best kept; "
        f"{time.perf_counter() - started:.1f}s)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
