"""The proxy benchmark: stock LiteLLM, the bundle, the same LiteLLM without plugins, and
claude-code-router, in front of the same instant upstream, with a Claude Code-sized request.

Run it from the repository root:

    python bench/run.py            # about 11 minutes: 4 rounds of 5 s cells, two-worker scaling
    python bench/run.py --quick    # about 2 minutes: 2 rounds of 1.5 s cells, no scaling cells
    python bench/run.py --quick --rounds 1 --json /tmp/bench.json   # from a test

What it does, in order: starts `bench/instant_upstream.py` (its own process), the LiteLLM
targets of `bench/targets.py` (in parallel), claude-code-router when Node is there (installed
from npm into `bench/.cache/ccr` on first use; if that fails the run says why and goes on),
and the load generator `bench/load.py` (its own process). It warms every target up, then in
each round measures every cell (concurrency 1 and 16, non-streaming and streaming) target by
target, compared targets next to each other and every other round in reverse order (A B B A,
so drift in the machine's load hits both sides of a pair alike); it ends each round with two
same-window cells where stock, no-plugins, bundle and the router are loaded at once (4
connections each, `--window-concurrency`): on a shared machine that is the steadiest CPU
comparison. The request is `bench/workload.py`'s: an 8 KB system prompt, 10 tools, 3 messages,
sent to `/v1/messages` (the upstream itself gets the OpenAI form, as the floor).

It prints, per cell and target: requests/s, p50/p99 latency, p50 time to first byte, proxy
CPU per request (utime + stime of the proxy's process tree, from /proc), requests per
CPU-second (throughput per core) and peak RSS; then the ratios bundle/stock,
bundle/no-plugins, bundle/router, no-plugins/stock and bundle-2w/bundle, computed round by
round and reported as medians; then issue 7's targets, measured. `--native` adds the same
configurations on an `anthropic/` deployment (the route of the anthropic, glm and kimi
recipes). `--json PATH` writes all of it as JSON. Logs and configs of every process stay in
`bench/.cache/runs/<time>/`.

The exit status is 1 only when a run failed (a target that should start did not, or a request
got an error or a non-200 answer), never because a number is slow.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, targets, workload
from bench.driver import LoadGenerator, command_for, log, request_bodies
from bench.report import Cell, Round
from tests.harness import RedisServer

ALL_TARGETS: Final = (
    "upstream",
    "stock",
    "no-plugins",
    "bundle",
    "bundle-default-gc",
    "router",
    "bundle-2w",
    "bundle-native-2w",
    "stock-native",
    "bundle-native",
    "no-plugins-native",
)
NATIVE_TARGETS: Final = ("stock-native", "bundle-native", "no-plugins-native")
# config.yaml.example sends Claude Code's requests to anthropic/ deployments (anthropic, glm, kimi,
# deepseek): the bundle on that route runs by default, for the shipped-configuration target.
DEFAULT_NATIVE: Final = ("bundle-native",)
# Loaded together in the same-window cells (the floor and the two-worker proxy would dwarf them).
SAME_WINDOW_TARGETS: Final = ("stock", "bundle", "bundle-default-gc", "no-plugins", "router", *NATIVE_TARGETS)
DEFAULT_ROUNDS: Final = 4
DEFAULT_DURATION: Final = 5.0
QUICK_ROUNDS: Final = 2
QUICK_DURATION: Final = 1.5


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "litellm": importlib.metadata.version("litellm"),
        "platform": platform.platform(terse=True),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def start_targets(
    wanted: Sequence[str], chunks: int, workdir: Path, running: dict[str, targets.Target]
) -> tuple[dict[str, str], dict[str, str]]:
    """Start what `wanted` names into `running` (filled as they come up, so the caller can stop
    them whatever happens); returns (failed to start: why, skipped: why)."""
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    upstream = targets.start_upstream(chunks, workdir)
    running["upstream"] = upstream
    upstream_base = upstream.url.rsplit("/chat/completions", 1)[0]
    bundle = targets.bundle_config(upstream_base)
    native = targets.bundle_config(upstream_base, native=True)
    # name: (config, with the plugins' auth, workers)
    plans: dict[str, tuple[dict[str, Any], bool, int]] = {
        "stock": (targets.stock_config(upstream_base, workload.MODEL), False, 1),
        "bundle": (bundle, True, 1),
        "bundle-default-gc": (targets.with_default_gc(bundle), True, 1),
        "no-plugins": (targets.without_plugins(bundle, workload.MODEL), False, 1),
        "bundle-2w": (bundle, True, 2),
        "stock-native": (targets.stock_config(upstream_base, workload.MODEL, native=True), False, 1),
        "bundle-native": (native, True, 1),
        "bundle-native-2w": (native, True, 2),
        "no-plugins-native": (targets.without_plugins(native, workload.MODEL), False, 1),
    }
    env: dict[str, dict[str, str]] = {}
    if "bundle-native-2w" in wanted:
        # The shipped layout with several workers: they share the pool, limits and usage in Redis.
        redis_server = RedisServer(workdir / "redis").start()
        running["redis"] = targets.Target(
            "redis", redis_server.url, {}, [], "redis", redis_server.stop, workdir / "redis"
        )
        env["bundle-native-2w"] = {"REDIS_URL": redis_server.url}
    pending = [
        targets.litellm_proxy(
            name, plans[name][0], workdir, plugins=plans[name][1], workers=plans[name][2], env=env.get(name)
        )
        for name in wanted
        if name in plans
    ]
    log(f"starting {', '.join(p.name for p in pending)} (LiteLLM takes a while to import)")
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        futures = {p.name: pool.submit(targets.start_litellm, p) for p in pending}
        for name, future in futures.items():
            try:
                running[name] = future.result()
            except (RuntimeError, OSError, ValueError) as error:  # reported and counted as a failed run
                failed[name] = f"{type(error).__name__}: {str(error)[-1500:]}"
    if "router" in wanted:
        entry, why = targets.install_router()
        if entry is None:
            skipped["router"] = why
        else:
            try:
                running["router"] = targets.start_router(entry, upstream.url, workdir)
            except (RuntimeError, OSError, ValueError) as error:  # optional: reported, never a failure
                skipped["router"] = f"could not start claude-code-router: {error}"
    (workdir / "configs.json").write_text(json.dumps({"bundle": bundle, "bundle-native": native}, indent=2))
    return failed, skipped


def record(name: str, cell: Cell, answer: dict[str, Any], into: list[Round]) -> None:
    measured = Round.from_answer(answer)
    into.append(measured)
    if not measured.ok:
        log(f"{name} {report.cell_name(cell)}: {measured.errors} failed, first: {measured.error}")


def measure_into(
    load: LoadGenerator,
    target: targets.Target,
    cell: Cell,
    duration: float,
    bodies: dict[tuple[str, bool], str],
    into: list[Round],
) -> None:
    record(target.name, cell, load.measure(command_for(target, cell, duration, bodies)), into)


def cells_for(name: str, cells: Sequence[Cell]) -> list[Cell]:
    # Two workers at concurrency 1 measure nothing a single worker does not.
    if name in ("bundle-2w", "bundle-native-2w"):
        return [cell for cell in cells if cell[0] > 1]
    return list(cells)


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    workdir = targets.run_folder(args.workdir)
    info = machine()
    cells: list[Cell] = [(c, s) for c in args.concurrency for s in (False, True)]
    wanted = [name for name in ALL_TARGETS if name in args.targets]
    bodies = request_bodies()
    load = LoadGenerator()
    running: dict[str, targets.Target] = {}
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    results: dict[str, dict[Cell, list[Round]]] = {}
    window: dict[str, dict[Cell, list[Round]]] = {}
    window_cells: list[Cell] = []
    try:
        failed, skipped = start_targets(wanted, args.chunks, workdir, running)
        for name, why in {**failed, **skipped}.items():
            log(f"{name}: {why}")
        order = [name for name in wanted if name in running]
        log(f"started in {time.monotonic() - started:.0f}s: {', '.join(order)}; warming up")
        for name in list(order):
            answer = load.measure(command_for(running[name], (4, True), 0.5, bodies, warmup=8))
            answer_plain = load.measure(command_for(running[name], (4, False), 0.5, bodies, warmup=8))
            problem = answer.get("error") or answer_plain.get("error")
            if problem:
                order.remove(name)
                if name == "router":  # optional: reported, never a failure
                    skipped[name] = f"claude-code-router started but failed its warm-up: {problem}"
                else:
                    failed[name] = f"warm-up failed: {problem}"
                log(f"{name}: warm-up failed: {problem}")
        results = {name: {cell: [] for cell in cells_for(name, cells)} for name in order}
        together = [name for name in order if name in SAME_WINDOW_TARGETS] if args.window_concurrency else []
        window_cells = [(args.window_concurrency, s) for s in (False, True)] if len(together) > 1 else []
        window = {name: {cell: [] for cell in window_cells} for name in together if window_cells}
        for index in range(args.rounds):
            # Compared targets sit next to each other, and every other round runs backwards
            # (A B B A): drift in the machine's load then hits both sides of a pair alike.
            ordered = order if index % 2 == 0 else order[::-1]
            for cell in cells:
                for name in ordered:
                    if cell in results[name]:
                        measure_into(load, running[name], cell, args.duration, bodies, results[name][cell])
            for cell in window_cells:
                commands = [command_for(running[name], cell, args.duration, bodies) for name in together]
                answers = load.measure({**commands[0], "targets": commands}).get("results") or []
                for name, answer in zip(together, answers, strict=False):
                    record(name, cell, answer, window[name][cell])
            log(f"round {index + 1}/{args.rounds} done ({time.monotonic() - started:.0f}s)")
    finally:
        load.close()
        targets.stop_all(running.values())
    summaries = [
        report.summarize(name, cell, rounds)
        for cell in cells
        for name, per_cell in results.items()
        if (rounds := per_cell.get(cell))
    ]
    window_summaries = [
        report.summarize(name, cell, rounds)
        for cell in window_cells
        for name, per_cell in window.items()
        if (rounds := per_cell.get(cell))
    ]
    ratios = report.all_ratios(results, cells)
    window_ratios = report.all_ratios(window, window_cells)
    found = report.verdicts(ratios, window_ratios)
    errors = sum(s.errors for s in summaries) + sum(s.errors for s in window_summaries)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["router"] = running["router"].note if "router" in running else skipped.get("router", "not requested")
    return {
        "machine": info,
        "settings": {
            "rounds": args.rounds,
            "cell_seconds": args.duration,
            "concurrency": list(args.concurrency),
            "stream_chunks": args.chunks,
            "request": workload.describe(),
        },
        "targets": {
            name: ("ok" if name in results else failed.get(name) or skipped.get(name, "not started"))
            for name in wanted
        },
        "failed_targets": failed,
        "skipped_targets": skipped,
        "cells": [s.as_json() for s in summaries],
        "ratios": [r.as_json() for r in ratios],
        "same_window_cells": [s.as_json() for s in window_summaries],
        "same_window_ratios": [r.as_json() for r in window_ratios],
        "verdicts": [v.as_json() for v in found],
        "errors": errors,
        "ok": not failed and errors == 0,
        "seconds": round(time.monotonic() - started, 1),
        "logs": str(workdir),
        "_summaries": summaries,
        "_ratios": ratios,
        "_window_summaries": window_summaries,
        "_window_ratios": window_ratios,
        "_verdicts": found,
    }


def print_report(outcome: dict[str, Any]) -> None:
    info = outcome["machine"]
    out = sys.stdout
    out.write(
        f"\n{info['date']}: {info['cpus']} cores ({info['cpu_model'] or 'unknown CPU'}), Python "
        f"{info['python']}, LiteLLM {info['litellm']}, {info['router']}; load average "
        f"{info['load_average_at_start']} -> {info['load_average_at_end']}\n"
    )
    settings = outcome["settings"]
    out.write(
        f"request: {settings['request']}; {settings['stream_chunks']} content chunks per streamed reply; "
        f"{settings['rounds']} rounds x {settings['cell_seconds']} s per cell\n\n"
    )
    out.write(report.summary_table(outcome["_summaries"]) + "\n\n")
    if outcome["_ratios"]:
        out.write(
            "Ratios, pair by pair (median over rounds; CPU/req < 1 and per core > 1 favour the first):\n"
        )
        out.write(report.ratio_table(outcome["_ratios"]) + "\n\n")
    if outcome["_window_summaries"]:
        out.write(
            "Same window: the LiteLLM targets and the router loaded at once, each at its own "
            "concurrency, so load from elsewhere on the machine hits them alike (the steadiest CPU "
            "comparison; their latencies include each other's load):\n"
        )
        out.write(report.summary_table(outcome["_window_summaries"]) + "\n\n")
        out.write(report.ratio_table(outcome["_window_ratios"]) + "\n\n")
    out.write(
        "Issue 7 targets (measured, not asserted):\n" + report.verdict_text(outcome["_verdicts"]) + "\n"
    )
    for name, why in outcome["failed_targets"].items():
        out.write(f"\nFAILED target {name}: {why}\n")
    for name, why in outcome["skipped_targets"].items():
        out.write(f"\nskipped target {name}: {why}\n")
    status = (
        "ok"
        if outcome["ok"]
        else f"FAILED ({outcome['errors']} request errors, {len(outcome['failed_targets'])} targets failed)"
    )
    out.write(f"\n{status} in {outcome['seconds']:.0f}s; logs in {outcome['logs']}\n")
    out.flush()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds of {QUICK_DURATION} s cells, no two-worker target",
    )
    parser.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULT_ROUNDS}, quick {QUICK_ROUNDS})")
    parser.add_argument(
        "--duration",
        type=float,
        help=f"seconds per cell (default {DEFAULT_DURATION}, quick {QUICK_DURATION})",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--chunks", type=int, default=20, help="content chunks per streamed reply from the upstream"
    )
    parser.add_argument(
        "--window-concurrency",
        type=int,
        default=4,
        help="per-target concurrency of the same-window cells (0: none)",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=ALL_TARGETS,
        help="default: all but stock-native and no-plugins-native (quick: also without bundle-2w)",
    )
    parser.add_argument(
        "--native",
        action="store_true",
        help="add stock-native, bundle-native, no-plugins-native (anthropic/ deployments)",
    )
    parser.add_argument("--no-router", action="store_true", help="leave claude-code-router out")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument(
        "--workdir", type=Path, help="where configs and logs go (default bench/.cache/runs/<time>)"
    )
    args = parser.parse_args(argv)
    args.rounds = max(1, args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS))
    args.duration = args.duration or (QUICK_DURATION if args.quick else DEFAULT_DURATION)
    if args.targets is None:
        args.targets = [
            t
            for t in ALL_TARGETS
            if (t not in NATIVE_TARGETS or t in DEFAULT_NATIVE)
            and t != "bundle-native-2w"
            and not (args.quick and t == "bundle-2w")
        ]
    if args.native:
        args.targets = [*args.targets, *(t for t in NATIVE_TARGETS if t not in args.targets)]
    if args.no_router:
        args.targets = [t for t in args.targets if t != "router"]
    return args


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds through run()'s cleanup


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    outcome = run(args)
    print_report(outcome)
    if args.json:
        public = {key: value for key, value in outcome.items() if not key.startswith("_")}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
