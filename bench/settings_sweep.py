"""Measure LiteLLM settings one at a time: which ones cut the proxy's CPU on the Claude Code path.

Run it from the repository root (a few minutes per handful of variants):

    python bench/settings_sweep.py                          # every variant below
    python bench/settings_sweep.py --variants log-error granian --rounds 5

Every variant is the `no-plugins` target of `bench/run.py` (`config.yaml.example`'s LiteLLM
settings, no plugin) with one change: a config key, an environment variable or a command-line
flag. They all run at once in front of the same instant upstream, with the same request, and
are loaded *in the same window* (each with its own connections and concurrency, default 4), so
the load other programs put on the machine hits every variant alike; the table shows each
variant's proxy CPU per request and requests/s divided by the baseline's in the same window
(median over rounds). `--one-at-a-time` measures them one after the other instead.
`baseline` is the `no-plugins` configuration as shipped; `stock-settings` is it without the
performance settings `config.yaml.example` ships (what they are worth together).

The numbers are printed, never judged; the exit status is 1 only if a variant failed to start
or a request failed.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, targets, workload
from bench.driver import LoadGenerator, command_for, log, request_bodies
from bench.report import Cell, Round

Config = dict[str, Any]
PERFORMANCE_KEYS: Final = {
    # The performance settings config.yaml.example ships, by section: `stock-settings` drops them.
    "litellm_settings": ("turn_off_message_logging", "disable_streaming_logging", "json_logs"),
    "general_settings": ("disable_spend_logs", "disable_error_logs", "disable_responses_id_security"),
}


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    change: Callable[[Config], None] = lambda config: None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    python_path: str | None = None  # a folder put first on PYTHONPATH (an optional dependency)
    base: str = "no-plugins"  # or "bundle": the variant changes the bundle (plugin ablation)


def _set(section: str, key: str, value: Any) -> Callable[[Config], None]:
    def change(config: Config) -> None:
        config.setdefault(section, {})[key] = value

    return change


def _spend_and_error_logs_off(config: Config) -> None:
    _set("general_settings", "disable_spend_logs", True)(config)
    _set("general_settings", "disable_error_logs", True)(config)


def _without_callback(name: str) -> Callable[[Config], None]:
    def change(config: Config) -> None:
        settings = config["litellm_settings"]
        settings["callbacks"] = [
            c for c in settings.get("callbacks", []) if c != f"litellm_plugins.hooks.{name}"
        ]

    return change


def _without_stream_hooks(config: Config) -> None:
    _without_callback("thinking_stripper")(config)
    _without_callback("upstream_guard")(config)


def _default_gc(config: Config) -> None:
    config.get("litellm_plugins", {}).pop("garbage_collection", None)


def _group_named_as_requested(config: Config) -> None:
    """Without the transformer nothing maps `claude-*` onto a group: name the group that way."""
    config["model_list"][0]["model_name"] = workload.MODEL


def _without_transformer(config: Config) -> None:
    _without_callback("request_transformer")(config)
    _group_named_as_requested(config)


def _auth_only(config: Config) -> None:
    config["litellm_settings"]["callbacks"] = []
    _group_named_as_requested(config)


def _drop_shipped(config: Config) -> None:
    for section, keys in PERFORMANCE_KEYS.items():
        for key in keys:
            (config.get(section) or {}).pop(key, None)


def _anthropic_native(config: Config) -> None:
    """The deployment on the upstream's Anthropic Messages route: no protocol translation."""
    params = config["model_list"][0]["litellm_params"]
    params["model"] = "anthropic/deepseek-chat"
    params["api_base"] = params["api_base"].removesuffix("/v1")


HTTPTOOLS_DIR: Final = targets.CACHE / "httptools"
VARIANTS: Final = (
    Variant("baseline", "no-plugins as shipped"),
    Variant("baseline-again", "the baseline again: the A/A noise floor of this run"),
    Variant("stock-settings", "no-plugins without config.yaml.example's performance settings", _drop_shipped),
    Variant(
        "log-error",
        "LITELLM_LOG=ERROR: uvicorn's access log and LiteLLM's INFO lines off",
        env={"LITELLM_LOG": "ERROR"},
    ),
    Variant(
        "message-logging-off",
        "litellm_settings.turn_off_message_logging: true",
        _set("litellm_settings", "turn_off_message_logging", True),
    ),
    Variant(
        "streaming-logging-off",
        "litellm_settings.disable_streaming_logging: true",
        _set("litellm_settings", "disable_streaming_logging", True),
    ),
    Variant(
        "spend-logs-off",
        "general_settings.disable_spend_logs + disable_error_logs: true",
        _spend_and_error_logs_off,
    ),
    Variant(
        "responses-id-security-off",
        "general_settings.disable_responses_id_security: true",
        _set("general_settings", "disable_responses_id_security", True),
    ),
    Variant("json-logs", "litellm_settings.json_logs: true", _set("litellm_settings", "json_logs", True)),
    Variant(
        "end-user-cost-off",
        "litellm_settings.disable_end_user_cost_tracking: true",
        _set("litellm_settings", "disable_end_user_cost_tracking", True),
    ),
    Variant(
        "zero-pricing",
        "model_info input/output_cost_per_token: 0 (custom pricing: no cost-map lookup)",
        lambda c: c["model_list"][0]["model_info"].update(input_cost_per_token=0, output_cost_per_token=0),
    ),
    Variant(
        "hosted-vllm",
        "deployment as hosted_vllm/ instead of openai/ (LiteLLM's own HTTP handler, no openai SDK)",
        lambda c: c["model_list"][0]["litellm_params"].update(model="hosted_vllm/deepseek-chat"),
    ),
    Variant(
        "rust",
        "LITELLM_RUST=true: LiteLLM's optional Rust paths (loggers; native Anthropic messages)",
        env={"LITELLM_RUST": "true"},
    ),
    Variant(
        "anthropic-native",
        "deployment as anthropic/ on the upstream's /v1/messages (no translation; GLM, Kimi, Anthropic "
        "recipes)",
        _anthropic_native,
    ),
    Variant(
        "anthropic-native-rust",
        "anthropic-native with LITELLM_RUST=true (LiteLLM's Rust path for Anthropic messages)",
        _anthropic_native,
        env={"LITELLM_RUST": "true"},
    ),
    Variant("bundle", "every plugin (bench/run.py's bundle target)", base="bundle"),
    Variant(
        "bundle-no-thinking",
        "the bundle without thinking_stripper",
        _without_callback("thinking_stripper"),
        base="bundle",
    ),
    Variant(
        "bundle-no-upstream-guard",
        "the bundle without upstream_guard",
        _without_callback("upstream_guard"),
        base="bundle",
    ),
    Variant(
        "bundle-no-transformer", "the bundle without request_transformer", _without_transformer, base="bundle"
    ),
    Variant(
        "bundle-no-rotator",
        "the bundle without token_rotator",
        _without_callback("token_rotator"),
        base="bundle",
    ),
    Variant(
        "bundle-auth-only",
        "custom_auth only, no plugin callbacks (the ASGI layers still install)",
        _auth_only,
        base="bundle",
    ),
    Variant(
        "bundle-default-gc",
        "the bundle without litellm_plugins.garbage_collection (Python's default GC)",
        _default_gc,
        base="bundle",
    ),
    Variant(
        "bundle-no-stream-hooks",
        "the bundle without the two streaming-iterator hooks (thinking_stripper, upstream_guard)",
        _without_stream_hooks,
        base="bundle",
    ),
    Variant(
        "gc-threshold",
        "PYTHON_GC_THRESHOLD=20000,50,100 (LiteLLM's own variable; no freeze)",
        env={"PYTHON_GC_THRESHOLD": "20000,50,100"},
    ),
    Variant(
        "no-retries",
        "router_settings.num_retries: 0 (config.yaml.example ships 1)",
        _set("router_settings", "num_retries", 0),
    ),
    Variant(
        "httptools",
        "uvicorn with httptools instead of h11 (pip install httptools)",
        python_path=str(HTTPTOOLS_DIR),
    ),
    Variant(
        "granian", "litellm --run_granian (Rust HTTP server instead of uvicorn)", args=("--run_granian",)
    ),
)


def ensure_httptools() -> str | None:
    """httptools into bench/.cache/httptools (not into the environment other runs share)."""
    if (HTTPTOOLS_DIR / "httptools").exists():
        return None
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(HTTPTOOLS_DIR), "httptools"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return None if result.returncode == 0 else (result.stderr or result.stdout)[-300:]


def variant_proxy(variant: Variant, bases: dict[str, Config], workdir: Path) -> targets.PendingProxy:
    config = copy.deepcopy(bases[variant.base])
    variant.change(config)
    env = dict(variant.env)
    if variant.python_path:
        env["PYTHONPATH"] = variant.python_path
    return targets.litellm_proxy(
        variant.name, config, workdir, plugins=variant.base == "bundle", env=env, extra_args=variant.args
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[v.name for v in VARIANTS],
        help="default: all (baseline is always in)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4], help="per variant")
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="measure variants one after the other instead of all in the same window",
    )
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    chosen = [v for v in VARIANTS if v.name == "baseline" or args.variants is None or v.name in args.variants]
    if any(v.name == "httptools" for v in chosen) and (problem := ensure_httptools()):
        log(f"httptools could not be installed, leaving it out: {problem}")
        chosen = [v for v in chosen if v.name != "httptools"]
    workdir = targets.run_folder(None, "sweep-")
    cells: list[Cell] = [(c, s) for c in args.concurrency for s in (False, True)]
    bodies = request_bodies()
    upstream = targets.start_upstream(args.chunks, workdir)
    bundle = targets.bundle_config(upstream.url.rsplit("/chat/completions", 1)[0])
    bases = {"bundle": bundle, "no-plugins": targets.without_plugins(bundle, workload.MODEL)}
    running: dict[str, targets.Target] = {}
    failed: dict[str, str] = {}
    results: dict[str, dict[Cell, list[Round]]] = {}
    load = LoadGenerator()
    try:
        log(f"starting {len(chosen)} variants")
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            futures = {
                v.name: pool.submit(targets.start_litellm, variant_proxy(v, bases, workdir)) for v in chosen
            }
            for name, future in futures.items():
                try:
                    running[name] = future.result()
                except (RuntimeError, OSError, ValueError) as error:  # reported; the others still run
                    failed[name] = str(error)[-800:]
                    log(f"{name} failed to start: {failed[name]}")
        order = [v.name for v in chosen if v.name in running]
        for name in order:
            load.measure(command_for(running[name], (4, True), 0.5, bodies, warmup=8))
        results = {name: {cell: [] for cell in cells} for name in order}
        for index in range(args.rounds):
            rotated = order[index % len(order) :] + order[: index % len(order)]
            for cell in cells:
                if args.one_at_a_time:
                    answers = [
                        load.measure(command_for(running[name], cell, args.duration, bodies))
                        for name in rotated
                    ]
                else:
                    # Every variant in the same window: a burst of load from elsewhere hits them all.
                    commands = [command_for(running[name], cell, args.duration, bodies) for name in rotated]
                    answers = load.measure({**commands[0], "targets": commands})["results"]
                for name, answer in zip(rotated, answers):
                    measured = Round.from_answer(answer)
                    results[name][cell].append(measured)
                    if not measured.ok:
                        log(f"{name} {report.cell_name(cell)}: {measured.error}")
            log(f"round {index + 1}/{args.rounds} done")
    finally:
        load.close()
        targets.stop_all([upstream, *running.values()])
    rows = []
    for variant in chosen:
        if variant.name not in results:
            continue
        for cell in cells:
            ratio = report.pair_ratio(
                variant.name, "baseline", cell, results[variant.name][cell], results["baseline"][cell]
            )
            summary = report.summarize(variant.name, cell, results[variant.name][cell])
            rows.append(
                {
                    "variant": variant.name,
                    "what": variant.what,
                    "cell": report.cell_name(cell),
                    **summary.as_json(),
                    "vs_baseline": ratio.as_json() if ratio else None,
                }
            )
    header = (
        f"{'variant':<27}{'cell':<16}{'CPU ms/req':>11}{'req/s':>8}{'p50 ms':>9}{'CPU vs base':>12}"
        f"{'req/s vs base':>14}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        versus = row["vs_baseline"] or {}
        lines.append(
            f"{row['variant']:<27}{row['cell']:<16}{row['cpu_ms_per_request'] or float('nan'):>11.2f}"
            f"{row['requests_per_second'] or float('nan'):>8.1f}"
            f"{row['p50_ms'] or float('nan'):>9.1f}{versus.get('cpu_per_request') or float('nan'):>12.3f}"
            f"{versus.get('requests_per_second') or float('nan'):>14.3f}"
        )
    print("\n".join(lines))
    print("\n" + "\n".join(f"{v.name:<27}{v.what}" for v in chosen))
    errors = sum(row["errors"] for row in rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "failed": failed}, indent=2) + "\n")
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
