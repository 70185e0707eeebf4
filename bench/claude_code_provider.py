"""What the claude-code provider costs per request against the pool route, in the same run.

Run it from the repository root (claude-agent-sdk installed: the `claude-code` extra):

    python bench/claude_code_provider.py [--rounds 3] [--requests 5]

One proxy (`tests/harness.py`, the shipped plugin order) serves two groups in front of the
Anthropic fake (`tests/fakes/anthropic_messages.py`, which answers at once):

- `pool`:        `anthropic/claude-sonnet-4-5`, LiteLLM's own translation with a pooled token;
- `claude-code`: `claude-code/claude-sonnet-4-5`, one Claude Code process per request.

An OpenAI SDK client sends the same short chat request (a system prompt and one user message)
to each, one request at a time, the targets alternating A B B A round by round, streaming and
not. Reported per target: median and p90 latency of a whole answer, median time to the first
streamed token; CPU per request of the proxy and every process it started (`/proc/<pid>/stat`
utime + stime + the reaped children's cutime + cstime, over the measured requests); and, for
the provider, the peak resident memory of the Claude Code process tree of each request
(`/proc/<pid>/status` VmRSS summed over the processes whose working directory is the
provider's scratch directory, sampled every 10 ms), with the proxy's own RSS before and after.
Nothing is judged: the numbers are printed (and written as JSON with `--json`).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final, Self

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.harness import ProxyProcess, plugin_config

TOKENS: Final = tuple(f"sk-ant-oat01-bench-{i}-" + "b" * 40 for i in range(2))
CLIENT: Final = "bench-client-token-" + "k" * 40
SCRATCH: Final = os.path.join(tempfile.gettempdir(), "litellm-claude-code-")
TARGETS: Final = {"pool": "pool-sonnet", "claude-code": "claude-code-sonnet"}
MESSAGES: Final = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to the benchmark in one short sentence."},
]
TICKS: Final = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its reaped children (cutime + cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().split(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def claude_code_rss_kib() -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd").startswith(SCRATCH):
                total += rss_kib(int(entry.name))
        except OSError:
            continue
    return total


class PeakSampler:
    """The largest Claude Code RSS seen while one request runs (a thread polling /proc)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, claude_code_rss_kib())
            self._stop.wait(0.01)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def one_request(sdk: openai.OpenAI, group: str, stream: bool) -> tuple[float, float | None]:
    """(seconds to the whole answer, seconds to the first streamed token or None)."""
    started = time.perf_counter()
    first = None
    if stream:
        for chunk in sdk.chat.completions.create(model=group, messages=MESSAGES, stream=True):
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
    else:
        reply = sdk.chat.completions.create(model=group, messages=MESSAGES)
        assert reply.choices[0].message.content, "an empty answer"
    return time.perf_counter() - started, first


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(rounds: int, requests: int, workdir: Path) -> dict[str, Any]:
    fake = FakeAnthropic(oauth_tokens=TOKENS).start()
    model_list = [
        {
            "model_name": "pool-sonnet",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": fake.url},
        },
        {
            "model_name": "claude-code-sonnet",
            "litellm_params": {"model": "claude-code/claude-sonnet-4-5", "api_base": fake.url},
        },
    ]
    config = plugin_config(
        model_list,
        extra_litellm_settings={
            "custom_provider_map": [
                {"provider": "claude-code", "custom_handler": "litellm_plugins.hooks.claude_code_provider"}
            ]
        },
        plugins={"anthropic_api_bases": [fake.url]},
    )
    env = {"CLAUDE_OAUTH_TOKENS": ",".join(TOKENS), "PROXY_STATIC_TOKENS": f"bench:{CLIENT}:pool"}
    proxy = ProxyProcess(config, workdir, env=env, name="claude-code-bench").start()
    results: dict[str, dict[str, list[float]]] = {
        name: {"latency": [], "stream_latency": [], "first_token": [], "cpu": [], "peak_rss_kib": []}
        for name in TARGETS
    }
    try:
        assert proxy.process is not None
        sdk = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=CLIENT, max_retries=0, timeout=120)
        for name, group in TARGETS.items():  # warm-up: imports, first process start
            one_request(sdk, group, stream=False)
        proxy_rss_before = sum(rss_kib(pid) for pid in descendants(proxy.process.pid))
        for number in range(rounds):
            order = list(TARGETS) if number % 2 == 0 else list(reversed(TARGETS))
            for name in order:
                group = TARGETS[name]
                cpu_before = sum(tree_cpu_seconds(pid) for pid in descendants(proxy.process.pid))
                for _ in range(requests):
                    with PeakSampler() as sampler:
                        latency, _ = one_request(sdk, group, stream=False)
                    results[name]["latency"].append(latency)
                    results[name]["peak_rss_kib"].append(sampler.peak)
                    latency, first = one_request(sdk, group, stream=True)
                    results[name]["stream_latency"].append(latency)
                    if first is not None:
                        results[name]["first_token"].append(first)
                time.sleep(0.5)  # the last processes are reaped into cutime/cstime
                cpu_after = sum(tree_cpu_seconds(pid) for pid in descendants(proxy.process.pid))
                results[name]["cpu"].append((cpu_after - cpu_before) / (2 * requests))
        proxy_rss_after = sum(rss_kib(pid) for pid in descendants(proxy.process.pid))
    finally:
        proxy.stop()
        fake.stop()
    summary: dict[str, Any] = {
        "rounds": rounds,
        "requests_per_round": 2 * requests,
        "proxy_rss_mib": [round(proxy_rss_before / 1024, 1), round(proxy_rss_after / 1024, 1)],
    }
    for name, values in results.items():
        summary[name] = {
            "latency_ms_median": round(1000 * statistics.median(values["latency"]), 1),
            "latency_ms_p90": round(1000 * percentile(values["latency"], 0.9), 1),
            "stream_latency_ms_median": round(1000 * statistics.median(values["stream_latency"]), 1),
            "first_token_ms_median": round(1000 * statistics.median(values["first_token"]), 1),
            "cpu_ms_per_request": round(1000 * statistics.median(values["cpu"]), 1),
            "claude_code_peak_rss_mib_median": round(statistics.median(values["peak_rss_kib"]) / 1024, 1),
        }
    return summary


def print_table(summary: dict[str, Any]) -> None:
    rows = [
        ("latency, median (ms)", "latency_ms_median"),
        ("latency, p90 (ms)", "latency_ms_p90"),
        ("streamed answer, median (ms)", "stream_latency_ms_median"),
        ("first token, median (ms)", "first_token_ms_median"),
        ("CPU per request (ms)", "cpu_ms_per_request"),
        ("Claude Code peak RSS per request (MiB)", "claude_code_peak_rss_mib_median"),
    ]
    print(f"{summary['rounds']} rounds x {summary['requests_per_round']} requests per target")
    print(f"{'':42} {'pool':>10} {'claude-code':>12} {'ratio':>8}")
    for label, key in rows:
        pool, code = summary["pool"][key], summary["claude-code"][key]
        ratio = f"{code / pool:.1f}x" if pool else "-"
        print(f"{label:42} {pool:>10} {code:>12} {ratio:>8}")
    before, after = summary["proxy_rss_mib"]
    print(f"proxy RSS (all workers) before / after the measured requests: {before} / {after} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3, help="per target per round, streamed and not")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="claude-code-bench-"))
    summary = run(args.rounds, args.requests, workdir)
    print_table(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
