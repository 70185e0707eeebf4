"""What the routing rules cost per request, token estimate included, on Claude Code's own request,
as a share of the proxy's CPU per request measured in the same run.

Run it from the repository root:

    python bench/routing_cost.py            # about 2 minutes: 4 rounds of 5 s cells
    python bench/routing_cost.py --quick    # about 1 minute: 1 round of 1.5 s cells (the smoke form)
    python bench/routing_cost.py --in-process-only

The request is `tests/fixtures/claude_code_request.json` as Claude Code 2.1 sent it (24 tools, a
26 KB system prompt, `thinking` adaptive: 117 KB of JSON, about 30,000 tokens), with its headers.
The rule list is `RULES`: the eight slots of the routing syntax (background, subagents, long
context at 60,000 tokens, web search, images, a client, a header, thinking), ordered so that this
main-loop request matches only the last one: every condition is evaluated, the token estimate
included (the request's JSON is longer than the threshold, so the cheap bound cannot decide and
LiteLLM's counter runs), and the chosen group's capabilities are checked.

Two measurements, in one run:

1. **In process**: the request transformer's `async_pre_call_hook` awaited as LiteLLM awaits it,
   without rules (aliases only) and with `RULES`, plus LiteLLM's token estimate alone
   (`litellm_plugins.transformer.count_tokens.local_estimate`). CPU time of the whole process
   (`time.process_time_ns`: LiteLLM counts tokens in a worker thread, which this thread's time
   would miss), best of `--repeats`; each call gets a fresh metadata dict, so the estimate is
   counted every time (once per request, as in the proxy).
2. **The proxy**: two `bundle-native` targets of `bench/run.py` (config.yaml.example's settings,
   every plugin, one `anthropic/` deployment per group on the instant upstream), one without
   rules and one with `RULES`, loaded in the same window (the steadiest CPU comparison on a shared
   machine), non-streaming and streaming. CPU per request is utime + stime of each proxy's process
   tree over the window, divided by the requests it completed.

It prints both, and the rules' in-process cost as a share of the proxy's own CPU per request.
Numbers are printed, never judged: the exit status is 1 only when a target failed to start or a
request failed.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importing LiteLLM must not go online

import argparse
import asyncio
import copy
import gc
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, targets, workload
from bench.driver import LoadGenerator, command_for, log
from bench.report import Cell, Round

ALIAS_GROUP: Final = targets.GROUP  # where `claude-*` goes without a rule (bench/targets.py)
RULES: Final = (
    {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
    {"name": "subagents", "when": {"subagent": True}, "to": "kimi"},
    {"name": "long-context", "when": {"input_tokens_above": 60000}, "to": "openrouter"},
    {"name": "web-search", "when": {"server_tool": "web_search*"}, "to": "anthropic"},
    {"name": "images", "when": {"images": True}, "to": "openai"},
    {"name": "ci", "when": {"client": "ci-*"}, "to": "ollama"},
    {"name": "project-acme", "when": {"header": {"x-project": "acme-*"}}, "to": "kimi"},
    {"name": "think", "when": {"thinking": True}, "to": "reasoner"},
)
MATCHED_RULE: Final = "think"
GROUPS: Final = (ALIAS_GROUP, *dict.fromkeys(str(rule["to"]) for rule in RULES))
TARGET_NAMES: Final = ("no-rules", "rules")
ITERATIONS: Final = 40
REPEATS: Final = 5
QUICK_ITERATIONS: Final = 10
QUICK_REPEATS: Final = 2


# -- the request -----------------------------------------------------------------------------------
def fixture_request(stream: bool) -> dict[str, Any]:
    """Claude Code's recorded request body (a fresh copy), streaming or not."""
    body = copy.deepcopy(workload.fixture()["body"])
    body["stream"] = stream
    return body


def fixture_headers() -> dict[str, str]:
    """Claude Code's recorded headers, lowercased, without its credentials."""
    return {
        name.lower(): value
        for name, value in workload.fixture()["headers"].items()
        if name.lower() not in ("authorization", "x-api-key", "x-litellm-api-key")
    }


def routing_section(rules: Sequence[Mapping[str, Any]] = RULES) -> dict[str, Any]:
    return {"model_aliases": {"claude-*": ALIAS_GROUP}, "routing": {"rules": [dict(r) for r in rules]}}


def without_token_rule(rules: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [rule for rule in rules if "input_tokens_above" not in rule.get("when", {})]


# -- 1. in process ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class InProcess:
    """Microseconds per request, best of the repeats."""

    hook_without_rules: float
    hook_with_rules: float
    hook_with_rules_no_tokens: float  # the same rules without `input_tokens_above`: no estimate
    token_estimate: float
    estimate_tokens: int | None
    matched: str | None

    @property
    def rules(self) -> float:
        """What the rules add to the hook: evaluation, token estimate and capability check."""
        return self.hook_with_rules - self.hook_without_rules

    def as_json(self) -> dict[str, Any]:
        return {
            "hook_without_rules_us": round(self.hook_without_rules, 1),
            "hook_with_rules_us": round(self.hook_with_rules, 1),
            "rules_us": round(self.rules, 1),
            "hook_with_rules_without_token_rule_us": round(self.hook_with_rules_no_tokens, 1),
            "token_estimate_us": round(self.token_estimate, 1),
            "estimate_tokens": self.estimate_tokens,
            "matched_rule": self.matched,
        }


@dataclass(frozen=True)
class Client:
    """What the bundle's auth hands the hook (`UserAPIKeyAuth.metadata`)."""

    metadata: Mapping[str, Any]


def bench_deployments(group: str) -> list[dict[str, Any]]:
    """The bench's deployment of `group`: one `anthropic/` deployment, as in the proxy run."""
    return [targets.deployment("http://127.0.0.1:9/v1", group, native=True)]


def hook_calls() -> dict[str, Callable[[], Awaitable[Any]]]:
    """One request's worth of each: the hook without rules (`without`), with `RULES` (`with`), with
    them minus the token rule (`no-tokens`), and the estimate alone (`estimate`)."""
    from litellm_plugins.core.metadata_keys import ROUTE
    from litellm_plugins.core.settings import parse_settings
    from litellm_plugins.transformer.count_tokens import local_estimate
    from litellm_plugins.transformer.hook import RequestTransformer

    def transformer(section: dict[str, Any]) -> RequestTransformer:
        return RequestTransformer(
            settings=parse_settings(section),
            group_names=lambda: frozenset(GROUPS),
            group_deployments=bench_deployments,
        )

    plain = transformer({"model_aliases": {"claude-*": ALIAS_GROUP}})
    routed = transformer(routing_section())
    no_tokens = transformer(routing_section(without_token_rule(RULES)))
    body = fixture_request(stream=True)
    # The proxy records the client's `content-length` with the other headers.
    headers = {**fixture_headers(), "content-length": str(len(json.dumps(body).encode()))}
    client = Client({"proxy_token_name": "default"})

    def request() -> dict[str, Any]:
        # What LiteLLM hands the hook on /v1/messages: the body, the client's headers, a fresh
        # metadata dict (the estimate the hook keeps there must not carry over to the next call).
        return {**body, "litellm_metadata": {}, "proxy_server_request": {"headers": headers, "body": body}}

    async def without_rules() -> Any:
        return await plain.async_pre_call_hook(client, None, request(), "anthropic_messages")

    async def with_rules(chosen: RequestTransformer = routed) -> Any:
        data = await chosen.async_pre_call_hook(client, None, request(), "anthropic_messages")
        route = (data.get("litellm_metadata") or {}).get(ROUTE) or {}
        return route.get("rule")

    async def without_token_rule_() -> Any:
        return await with_rules(no_tokens)

    def estimate() -> Awaitable[int | None]:
        return local_estimate(ALIAS_GROUP, body, "anthropic")

    return {
        "without": without_rules,
        "with": with_rules,
        "no-tokens": without_token_rule_,
        "estimate": estimate,
    }


def microseconds(run: Callable[[], Any], loop: asyncio.AbstractEventLoop, iterations: int) -> float:
    gc.disable()  # a collection landing in one measurement and not another is noise, not cost
    try:
        start = time.process_time_ns()  # all threads: LiteLLM counts tokens in a worker thread
        for _ in range(iterations):
            loop.run_until_complete(run())
        return (time.process_time_ns() - start) / iterations / 1000
    finally:
        gc.enable()


def measure_in_process(iterations: int, repeats: int) -> InProcess:
    calls = hook_calls()
    loop = asyncio.new_event_loop()
    try:
        matched = loop.run_until_complete(calls["with"]())
        tokens = loop.run_until_complete(calls["estimate"]())
        gc.collect()
        gc.freeze()  # LiteLLM's import leaves a large heap: keep collections from rescanning it
        for call in calls.values():  # warm up (tokenizer load, caches)
            microseconds(call, loop, max(1, iterations // 4))
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(repeats):  # interleaved, so drift hits every call alike
            for name, call in calls.items():
                best[name] = min(best[name], microseconds(call, loop, iterations))
    finally:
        loop.close()
    return InProcess(
        best["without"],
        best["with"],
        best["no-tokens"],
        best["estimate"],
        tokens if isinstance(tokens, int) else None,
        matched if isinstance(matched, str) else None,
    )


# -- 2. the proxy ----------------------------------------------------------------------------------
def proxy_configs(upstream_base: str) -> dict[str, dict[str, Any]]:
    """`bundle-native` with a deployment for every group the rules name, without and with rules."""
    base = targets.bundle_config(upstream_base, native=True)
    base["model_list"] = [targets.deployment(upstream_base, group, native=True) for group in GROUPS]
    routed = copy.deepcopy(base)
    routed["litellm_plugins"]["routing"] = {"rules": [dict(rule) for rule in RULES]}
    return {"no-rules": base, "rules": routed}


def request_bodies() -> dict[tuple[str, bool], str]:
    return {("anthropic", stream): json.dumps(fixture_request(stream)) for stream in (False, True)}


def with_fixture_headers(command: dict[str, Any]) -> dict[str, Any]:
    """The load generator's command with Claude Code's recorded headers (the fixture's, not the
    cut-down workload's), the target's credential kept."""
    return {**command, "headers": {**fixture_headers(), **command["headers"]}}


def measure_proxy(
    rounds: int, duration: float, concurrency: int, chunks: int, workdir: Path
) -> tuple[dict[str, dict[Cell, list[Round]]], dict[str, str], list[Cell]]:
    cells: list[Cell] = [(concurrency, False), (concurrency, True)]
    bodies = request_bodies()
    results: dict[str, dict[Cell, list[Round]]] = {}
    failed: dict[str, str] = {}
    running: dict[str, targets.Target] = {}
    upstream = targets.start_upstream(chunks, workdir)
    load = LoadGenerator()
    try:
        configs = proxy_configs(upstream.url.rsplit("/chat/completions", 1)[0])
        pending = [targets.litellm_proxy(name, configs[name], workdir, plugins=True) for name in TARGET_NAMES]
        log("starting the proxies without and with rules (LiteLLM takes a while to import)")
        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            futures = {p.name: pool.submit(targets.start_litellm, p) for p in pending}
            for name, future in futures.items():
                try:
                    running[name] = future.result()
                except (RuntimeError, OSError, ValueError) as error:  # reported, counted as failed
                    failed[name] = f"{type(error).__name__}: {str(error)[-1500:]}"
        if failed:
            return results, failed, cells
        for name in TARGET_NAMES:
            for stream in (False, True):
                command = command_for(running[name], (concurrency, stream), 0.5, bodies, warmup=8)
                problem = load.measure(with_fixture_headers(command)).get("error")
                if problem:
                    failed[name] = f"warm-up failed: {problem}"
        if failed:
            return results, failed, cells
        results = {name: {cell: [] for cell in cells} for name in TARGET_NAMES}
        for index in range(rounds):
            for cell in cells:
                order = TARGET_NAMES if index % 2 == 0 else TARGET_NAMES[::-1]
                commands = [
                    with_fixture_headers(command_for(running[name], cell, duration, bodies)) for name in order
                ]
                answers = load.measure({**commands[0], "targets": commands}).get("results") or []
                for name, answer in zip(order, answers, strict=False):
                    measured = Round.from_answer(answer)
                    results[name][cell].append(measured)
                    if not measured.ok:
                        where = f"{name} {report.cell_name(cell)}"
                        log(f"{where}: {measured.errors} failed, first: {measured.error}")
            log(f"round {index + 1}/{rounds} done")
    finally:
        load.close()
        targets.stop_all([upstream, *running.values()])
    return results, failed, cells


def routed_by_rule(workdir: Path) -> int:
    """Request log lines of the `rules` proxy that name the matched rule (the rules really ran)."""
    log_path = workdir / "rules" / "rules.log"
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return text.count(f"(rule {MATCHED_RULE!r})")


# -- report ----------------------------------------------------------------------------------------
def share_lines(measured: InProcess, summaries: Sequence[report.CellSummary]) -> list[str]:
    """The rules' in-process cost against the proxy's CPU per request without rules, per cell."""
    plain = {s.cell: s.cpu_ms_per_request for s in summaries if s.target == "no-rules"}
    routed = {s.cell: s.cpu_ms_per_request for s in summaries if s.target == "rules"}
    lines = []
    for cell, without in plain.items():
        if math.isnan(without) or without <= 0 or cell not in routed:
            continue
        rules_share = measured.rules / 1000 / without
        estimate_share = measured.token_estimate / 1000 / without
        lines.append(
            f"  {report.cell_name(cell)}: the rules' {measured.rules / 1000:,.2f} ms = "
            f"{100 * rules_share:.1f} % of the proxy's {without:,.2f} ms CPU per request without rules "
            f"(the token estimate alone {100 * estimate_share:.1f} %); the proxy with rules measured "
            f"{routed[cell]:,.2f} ms ({100 * (routed[cell] / without - 1):+.1f} %)"
        )
    return lines


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    workdir = targets.run_folder(args.workdir, "routing-")
    body = fixture_request(stream=False)
    log(f"in process: {args.iterations} calls x {args.repeats}, best kept")
    measured = measure_in_process(args.iterations, args.repeats)
    outcome: dict[str, Any] = {
        "request": f"{len(json.dumps(body)):,} bytes of JSON, {len(body['tools'])} tools, "
        f"{len(body['messages'])} messages, thinking {body.get('thinking')}",
        "rules": [rule["name"] for rule in RULES],
        "in_process": measured.as_json(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    failed: dict[str, str] = {}
    summaries: list[report.CellSummary] = []
    ratios: list[report.PairRatio] = []
    if not args.in_process_only:
        results, failed, cells = measure_proxy(
            args.rounds, args.duration, args.concurrency, args.chunks, workdir
        )
        summaries = [
            report.summarize(name, cell, rounds)
            for cell in cells
            for name, per_cell in results.items()
            if (rounds := per_cell.get(cell))
        ]
        for cell in cells:
            if all(results.get(name, {}).get(cell) for name in TARGET_NAMES):
                top, bottom = results["rules"][cell], results["no-rules"][cell]
                ratio = report.pair_ratio("rules", "no-rules", cell, top, bottom)
                if ratio is not None:
                    ratios.append(ratio)
        outcome["routed_by_rule"] = routed_by_rule(workdir)
        if not failed and not outcome["routed_by_rule"]:  # the rules never ran: nothing was measured
            failed["rules"] = f"no request log line names the rule {MATCHED_RULE!r}"
    errors = sum(summary.errors for summary in summaries)
    outcome.update(
        {
            "cells": [summary.as_json() for summary in summaries],
            "ratios": [ratio.as_json() for ratio in ratios],
            "failed_targets": failed,
            "errors": errors,
            "ok": not failed and errors == 0 and measured.matched == MATCHED_RULE,
            "seconds": round(time.monotonic() - started, 1),
            "logs": str(workdir),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "_measured": measured,
            "_summaries": summaries,
            "_ratios": ratios,
        }
    )
    return outcome


def print_report(outcome: dict[str, Any]) -> None:
    out = sys.stdout
    measured: InProcess = outcome["_measured"]
    out.write(f"\nrequest: {outcome['request']}\nrules: {', '.join(outcome['rules'])}\n\n")
    out.write("In process (this process's CPU, all threads, best of the repeats), µs per request:\n")
    out.write(f"  transformer pre-call hook without rules  {measured.hook_without_rules:>10,.1f}\n")
    out.write(
        f"  transformer pre-call hook with the rules {measured.hook_with_rules:>10,.1f}   "
        f"(matched: {measured.matched})\n"
    )
    out.write(f"  the rules' own cost (the difference)     {measured.rules:>10,.1f}\n")
    out.write(
        f"  the same rules without the token rule    {measured.hook_with_rules_no_tokens:>10,.1f}   "
        "(no estimate)\n"
    )
    out.write(
        f"  LiteLLM's token estimate alone           {measured.token_estimate:>10,.1f}   "
        f"({measured.estimate_tokens} tokens)\n\n"
    )
    if outcome["_summaries"]:
        out.write("The proxy, both targets loaded in the same window:\n")
        out.write(report.summary_table(outcome["_summaries"]) + "\n\n")
        out.write(report.ratio_table(outcome["_ratios"]) + "\n\n")
        out.write(
            f"requests the rules proxy routed by rule {MATCHED_RULE!r}: {outcome.get('routed_by_rule')}\n\n"
        )
        out.write("The rules' in-process cost against the proxy's own CPU per request (same run):\n")
        out.write("\n".join(share_lines(measured, outcome["_summaries"])) + "\n")
    for name, why in outcome["failed_targets"].items():
        out.write(f"\nFAILED target {name}: {why}\n")
    status = "ok" if outcome["ok"] else f"FAILED ({outcome['errors']} request errors)"
    out.write(
        f"\n{status} in {outcome['seconds']:.0f}s; load average {outcome['load_average_at_start']} -> "
        f"{outcome['load_average_at_end']}; logs in {outcome['logs']}\n"
    )
    out.flush()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 1.5 s cells, fewer in-process calls")
    parser.add_argument("--rounds", type=int, help="same-window rounds (default 4, quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per cell (default 5, quick 1.5)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections per target")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed reply")
    parser.add_argument("--iterations", type=int, help=f"in-process calls per measurement ({ITERATIONS})")
    parser.add_argument("--repeats", type=int, help=f"in-process measurements, best kept ({REPEATS})")
    parser.add_argument("--in-process-only", action="store_true", help="no proxies")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--workdir", type=Path, help="configs and logs (default bench/.cache/runs/<time>)")
    args = parser.parse_args(argv)
    args.rounds = max(1, args.rounds or (1 if args.quick else 4))
    args.duration = args.duration or (1.5 if args.quick else 5.0)
    args.iterations = max(1, args.iterations or (QUICK_ITERATIONS if args.quick else ITERATIONS))
    args.repeats = max(1, args.repeats or (QUICK_REPEATS if args.quick else REPEATS))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outcome = run(args)
    print_report(outcome)
    if args.json:
        public = {key: value for key, value in outcome.items() if not key.startswith("_")}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
