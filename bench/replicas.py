"""One proxy against two replicas sharing a real `redis-server`: throughput, CPU per request, and
whether a token one replica saw rate-limited is used by either during its cooldown.

Run it from the repository root:

    python bench/replicas.py            # about 2 minutes: 2 rounds of 20 s cells (1, 2, 2, 1 replicas)
    python bench/replicas.py --quick    # about 1 minute: 1 round of 6 s cells
    python bench/replicas.py --quick --duration 3 --json out.json   # the smoke form a test calls

What runs, all on 127.0.0.1 and all stopped at the end:

- a `redis-server` (`tests.harness.RedisServer`: a free port, its own scratch directory, no
  persistence) with keyspace notifications on, so this script sees the moment a replica writes
  a cooldown (`litellm_plugins:pool:claude:cool:<fingerprint>`, see
  :mod:`litellm_plugins.rotator.shared_state`);
- `bench/pool_upstream.py`: Anthropic's `/v1/messages` (streaming), accepting only the
  `--tokens` pool tokens as OAuth bearers, and recording every request: arrival time, the
  bearer's fingerprint, the status it got, the load generator's marker;
- two `litellm --config` processes (one worker each) with the bundle's config as
  `bench/targets.py` builds it (`config.yaml.example`'s settings and every plugin), its model
  list being `config.yaml.example`'s Claude pool route (`anthropic/*`, no `api_key`: the pool's
  tokens) on the upstream, which `anthropic_api_bases` declares Anthropic's API; both with
  `CLAUDE_OAUTH_TOKENS`, `CLAUDE_TOKEN_MODE=rotate` and the same `REDIS_URL`;
- `bench/load.py`: `--concurrency` workers, each its own Claude Code session, sending Claude
  Code's request (`bench/workload.py`) to one proxy, or round-robin to both (a client-side load
  balancer), the same total concurrency either way.

Each cell measures `--duration` seconds; a quarter of the way in, the pool token that has served
most of the cell's requests so far starts answering Anthropic's 429 (`rate_limit_error`,
`retry-after`, the unified headers with status `rejected`) for 40 % of the duration (the token
whose window reset last draws the new sessions, so a fixed choice could find no demand). The
upstream's record then gives:

- the 429s it served to that token (the first, plus requests already on their way: leased before
  any replica knew);
- **requests during the cooldown**: requests with that token that reached the upstream before
  the window ended although the client sent them after a replica had written the cooldown to
  Redis (so their lease came after it). This must be 0; the exit status is 1 otherwise, or when
  a request failed, or when no replica recorded the cooldown (nothing would have been proven).

Numbers are printed, never judged otherwise. The load generator shares the machine's cores with
the proxies: on a 2-core machine two replicas cannot reach twice the throughput of one; CPU per
request is the steadier number.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import copy
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench import targets, workload
from bench.driver import LoadGenerator, log
from bench.load import cpu_seconds
from litellm_plugins.core.redaction import fingerprint
from tests.harness import RedisServer

POOL_GROUP: Final = "anthropic"
MARK: Final = "@REQ@"
COOL_KEYS: Final = "__keyspace@0__:litellm_plugins:pool:claude:cool:*"
LIMIT_START: Final = 0.25  # of the duration, after the warm-up
LIMIT_SHARE: Final = 0.40
DEFAULT_ROUNDS: Final = 2
DEFAULT_DURATION: Final = 20.0
QUICK_DURATION: Final = 6.0
WARM_UP_SECONDS: Final = 3.0


def pool_tokens(count: int) -> tuple[str, ...]:
    """Test tokens shaped like `claude setup-token`'s (they only open the bench upstream)."""
    return tuple(f"sk-ant-oat01-bench-replica-{index:02d}-" + "q" * 60 for index in range(count))


def pool_config(upstream: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bundle's config (`bench/targets.bundle_config`) with `config.yaml.example`'s Claude pool
    route as its only deployment, on the upstream, declared Anthropic's API."""
    document = (
        example if example is not None else yaml.safe_load(targets.EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    )
    config = targets.bundle_config(upstream + "/v1", document, native=True)
    [route] = [copy.deepcopy(m) for m in document["model_list"] if m["model_name"] == POOL_GROUP]
    route["litellm_params"]["api_base"] = upstream
    assert "api_key" not in route["litellm_params"], "the pool route must not declare its own key"
    config["model_list"] = [route]
    config["litellm_plugins"]["model_aliases"] = {"claude-*": POOL_GROUP}
    config["litellm_plugins"]["anthropic_api_bases"] = [upstream]
    return config


def request_body(stream: bool) -> str:
    """Claude Code's request with a `bench-req-<id>` marker the load generator fills per request."""
    request = workload.claude_code_request(stream=stream)
    request["messages"][0]["content"][-1]["text"] += f" (bench-req-{MARK})"
    return json.dumps(request)


# -- the processes -------------------------------------------------------------------------------
def start_pool_upstream(tokens: tuple[str, ...], workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    log_file = (workdir / "pool-upstream.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "pool_upstream.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log_file,
        env={**os.environ, "BENCH_POOL_TOKENS": ",".join(tokens)},
        start_new_session=True,
    )
    log_file.close()
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        targets._terminate(process)
        raise RuntimeError(
            f"the pool upstream did not start (said {line!r}); see {workdir / 'pool-upstream.log'}"
        )
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


def upstream_call(base: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class CooldownWatcher:
    """Redis keyspace notifications on the pool's cooldown keys: (time seen, fingerprint) per write."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._client.config_set("notify-keyspace-events", "K$")
        self._pubsub = self._client.pubsub()
        self._pubsub.psubscribe(COOL_KEYS)
        self.writes: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cooldown-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message and message["type"] == "pmessage" and message["data"] == b"set":
                channel = message["channel"].decode()
                self.writes.append((time.time(), channel.split(":cool:", 1)[1]))

    def first_write(self, fp: str, since: float) -> float | None:
        return next((seen for seen, key in list(self.writes) if key == fp and seen >= since), None)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._client.close()


# -- one cell ------------------------------------------------------------------------------------
@dataclass
class CellResult:
    replicas: int
    round: int
    requests: int
    errors: int
    first_error: str | None
    elapsed: float
    proxy_cpu_seconds: float
    redis_cpu_seconds: float
    load_cpu_seconds: float
    p50_ms: float
    limited_token: str
    upstream_429s: int
    in_flight: int
    during_cooldown: int
    served_during_cooldown: int
    cooldown_seconds: float | None
    per_replica_429s: list[int] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.proxy_cpu_seconds / self.requests if self.requests else 0.0


def busiest_token(record: list[list[Any]], prefix: str) -> str | None:
    """The token that served most of this cell's requests so far: its 429 has sessions on both
    replicas to move (a token whose window just reset draws every new session, the others few)."""
    counts: dict[str, int] = {}
    for _, fp, status, marker in record:
        if fp is not None and status == 200 and str(marker).startswith(prefix):
            counts[fp] = counts.get(fp, 0) + 1
    return max(counts, key=lambda fp: counts[fp]) if counts else None


def analyse(
    record: list[list[Any]],
    sent: dict[str, float],
    prefix: str,
    fp: str,
    window: tuple[float, float],
    shared_at: float | None,
    replicas: int,
) -> dict[str, Any]:
    """What the upstream saw of `fp` in this cell (pure: the record, the client's send times, the
    429 window and the moment a replica wrote the cooldown to Redis)."""
    start, end = window
    mine = [row for row in record if row[3] is None or str(row[3]).startswith(prefix)]
    limited = [row for row in mine if row[1] == fp and start <= row[0] < end]
    per_replica = [0] * replicas
    for row in limited:
        if row[2] == 429 and row[3] is not None:
            per_replica[int(str(row[3]).removeprefix(prefix)) % replicas] += 1
    in_flight = during = 0
    if shared_at is not None:
        for row in limited:
            if row[0] < shared_at:
                continue
            sent_at = sent.get(str(row[3])) if row[3] is not None else None
            if sent_at is not None and sent_at <= shared_at:
                in_flight += 1  # left the client before any replica knew: leased before the cooldown
            else:
                during += 1
    served = (
        sum(1 for row in mine if shared_at <= row[0] < end and row[1] != fp and row[2] == 200)
        if shared_at is not None
        else 0
    )
    return {
        "upstream_429s": sum(1 for row in limited if row[2] == 429),
        "in_flight": in_flight,
        "during_cooldown": during,
        "served_during_cooldown": served,
        "cooldown_seconds": (end - shared_at) if shared_at is not None else None,
        "per_replica_429s": per_replica,
    }


def run_cell(
    load: LoadGenerator,
    proxies: list[targets.Target],
    replicas: int,
    index: int,
    round_number: int,
    args: argparse.Namespace,
    body: str,
    upstream: str,
    fp: str,
    watcher: CooldownWatcher,
    redis_pid: int,
) -> CellResult:
    used = proxies[:replicas]
    prefix = f"c{index}-"
    command = {
        "url": used[0].url,
        "urls": [proxy.url for proxy in used],
        "headers": workload.claude_code_headers() | used[0].headers,
        "body": body,
        "concurrency": args.concurrency,
        "duration": args.duration,
        "stream": args.stream,
        "expect": "anthropic",
        "pids": [pid for proxy in used for pid in proxy.pids],
        "warmup": args.concurrency,
        "timeout": 60,
        "session_prefix": f"cell{index}",
        "mark": MARK,
        "mark_prefix": prefix,
    }
    answer: dict[str, Any] = {}
    redis_before = cpu_seconds([redis_pid])

    def measure() -> None:
        answer.update(load.measure(command))

    thread = threading.Thread(target=measure, name="measure")
    thread.start()
    # The warm-up is one request per worker; then a quarter of the window passes before the 429s.
    time.sleep(min(args.duration, 2.0) + LIMIT_START * args.duration)
    fp = busiest_token(upstream_call(upstream, "/bench/record"), prefix) or fp
    ordered = upstream_call(
        upstream, "/bench/rate-limit", {"fingerprint": fp, "seconds": LIMIT_SHARE * args.duration}
    )
    window = (float(ordered["start"]), float(ordered["end"]))
    thread.join(timeout=args.duration + 120)
    redis_cpu = cpu_seconds([redis_pid]) - redis_before
    record = upstream_call(upstream, "/bench/record")
    sent = {ident: when for ident, when in answer.get("sent", [])}
    found = analyse(record, sent, prefix, fp, window, watcher.first_write(fp, window[0]), replicas)
    latencies = answer.get("latencies") or [0.0]
    return CellResult(
        replicas=replicas,
        round=round_number,
        requests=int(answer.get("count", 0)),
        errors=int(answer.get("errors", 1)),
        first_error=answer.get("error"),
        elapsed=float(answer.get("elapsed", 0.0)),
        proxy_cpu_seconds=float(answer.get("proxy_cpu_seconds", 0.0)),
        redis_cpu_seconds=redis_cpu,
        load_cpu_seconds=float(answer.get("load_cpu_seconds", 0.0)),
        p50_ms=1000 * statistics.median(latencies),
        limited_token=fp,
        **found,
    )


def warm_up(load: LoadGenerator, proxies: list[targets.Target], args: argparse.Namespace, body: str) -> None:
    """Load both proxies for a while, unmeasured: the first requests of a fresh LiteLLM cost several
    times the later ones, and the first cell must not pay for it."""
    log(f"warming both proxies up for {WARM_UP_SECONDS:g} s")
    answer = load.measure(
        {
            "url": proxies[0].url,
            "urls": [proxy.url for proxy in proxies],
            "headers": workload.claude_code_headers() | proxies[0].headers,
            "body": body.replace(MARK, "warm-up"),
            "concurrency": args.concurrency,
            "duration": WARM_UP_SECONDS,
            "stream": args.stream,
            "expect": "anthropic",
            "pids": [],
            "warmup": args.concurrency,
            "timeout": 60,
            "session_prefix": "warm-up",
        }
    )
    if answer.get("errors"):
        raise RuntimeError(f"the warm-up failed: {answer.get('error')}")


# -- the report ----------------------------------------------------------------------------------
def ratios(cells: list[CellResult]) -> dict[str, float | None]:
    """Median over rounds of (two replicas / one) for req/s and CPU per request."""
    throughput, cpu = [], []
    for round_number in sorted({cell.round for cell in cells}):
        pair = {cell.replicas: cell for cell in cells if cell.round == round_number}
        if 1 in pair and 2 in pair and pair[1].requests and pair[2].requests:
            throughput.append(pair[2].requests_per_second / pair[1].requests_per_second)
            cpu.append(pair[2].cpu_ms_per_request / pair[1].cpu_ms_per_request)
    return {
        "throughput": statistics.median(throughput) if throughput else None,
        "cpu_per_request": statistics.median(cpu) if cpu else None,
    }


def print_report(cells: list[CellResult], args: argparse.Namespace) -> None:
    mode = "streaming" if args.stream else "non-streaming"
    print(
        f"\nReplicas sharing redis-server, {mode}, concurrency {args.concurrency}, "
        f"{args.duration:g} s per cell, {args.tokens} pool tokens, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    header = (
        "| replicas | round | req/s | p50 ms | proxy CPU ms/req | redis CPU ms/req | load CPU s | "
        "429s served (per replica) | in flight | requests during the cooldown | served meanwhile |"
    )
    print(header)
    print("|---:" * 11 + "|")
    for cell in cells:
        redis_ms = 1000 * cell.redis_cpu_seconds / cell.requests if cell.requests else 0.0
        print(
            f"| {cell.replicas} | {cell.round} | {cell.requests_per_second:.1f} | {cell.p50_ms:.0f} | "
            f"{cell.cpu_ms_per_request:.1f} | {redis_ms:.2f} | {cell.load_cpu_seconds:.1f} | "
            f"{cell.upstream_429s} ({' / '.join(map(str, cell.per_replica_429s))}) | {cell.in_flight} | "
            f"**{cell.during_cooldown}** | {cell.served_during_cooldown} |"
        )
    found = ratios(cells)
    if found["throughput"] is not None:
        print(
            f"\ntwo replicas / one: {found['throughput']:.2f}x req/s, "
            f"{found['cpu_per_request']:.2f}x proxy CPU per request (median of the rounds)"
        )
    for cell in cells:
        if cell.errors:
            where = f"cell {cell.replicas} replica(s), round {cell.round}"
            print(f"{where}: {cell.errors} failed: {cell.first_error}")
        if cell.cooldown_seconds is None:
            print(
                f"cell {cell.replicas} replica(s), round {cell.round}: no replica wrote a cooldown to Redis"
            )


def summary(cells: list[CellResult], args: argparse.Namespace, ok: bool) -> dict[str, Any]:
    return {
        "ok": ok,
        "stream": args.stream,
        "concurrency": args.concurrency,
        "duration": args.duration,
        "tokens": args.tokens,
        "cpu_count": os.cpu_count(),
        "errors": sum(cell.errors for cell in cells),
        "requests_during_cooldown": sum(cell.during_cooldown for cell in cells),
        "ratios": ratios(cells),
        "cells": [
            {
                **{key: value for key, value in vars(cell).items() if key != "first_error"},
                "requests_per_second": cell.requests_per_second,
                "cpu_ms_per_request": cell.cpu_ms_per_request,
                "first_error": cell.first_error,
            }
            for cell in cells
        ],
    }


# -- the harness ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"1 round of {QUICK_DURATION:g} s cells")
    parser.add_argument(
        "--rounds", type=int, help=f"rounds of (1, 2) or (2, 1) replicas (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--duration", type=float, help=f"seconds per cell (default {DEFAULT_DURATION:g})")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight, all replicas together"
    )
    parser.add_argument("--tokens", type=int, default=4, help="pool tokens")
    parser.add_argument("--no-stream", dest="stream", action="store_false", help="non-streaming requests")
    parser.add_argument(
        "--workdir", type=Path, help="configs and logs (default bench/.cache/runs/replicas-<time>)"
    )
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args(argv)
    args.rounds = max(1, args.rounds or (1 if args.quick else DEFAULT_ROUNDS))
    args.duration = max(1.0, args.duration or (QUICK_DURATION if args.quick else DEFAULT_DURATION))
    args.concurrency = max(2, args.concurrency)
    args.tokens = max(2, args.tokens)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = targets.run_folder(args.workdir, "replicas-")
    tokens = pool_tokens(args.tokens)
    fingerprints = [fingerprint(token) for token in tokens]
    redis_server = RedisServer(workdir / "redis")
    upstream_process: subprocess.Popen[bytes] | None = None
    watcher: CooldownWatcher | None = None
    load: LoadGenerator | None = None
    pending: list[targets.PendingProxy] = []
    proxies: list[targets.Target] = []
    cells: list[CellResult] = []
    try:
        redis_server.start()
        assert redis_server.process is not None
        watcher = CooldownWatcher(redis_server.url)
        upstream_process, upstream = start_pool_upstream(tokens, workdir)
        config = pool_config(upstream)
        env = {
            "CLAUDE_OAUTH_TOKENS": ",".join(tokens),
            "CLAUDE_TOKEN_MODE": "rotate",
            "REDIS_URL": redis_server.url,
        }
        pending = [targets.litellm_proxy(name, config, workdir, plugins=True, env=env) for name in ("a", "b")]
        log(f"starting redis-server {redis_server.url}, the pool upstream {upstream} and two proxies")
        with ThreadPoolExecutor(2) as starting:
            proxies = list(starting.map(targets.start_litellm, pending))
        load = LoadGenerator()
        body = request_body(args.stream)
        warm_up(load, proxies, args, body)
        index = 0
        for round_number in range(args.rounds):
            for replicas in (1, 2) if round_number % 2 == 0 else (2, 1):
                fp = fingerprints[index % len(fingerprints)]
                log(f"round {round_number + 1}: {replicas} replica(s), its busiest token rate-limited")
                cells.append(
                    run_cell(
                        load,
                        proxies,
                        replicas,
                        index,
                        round_number + 1,
                        args,
                        body,
                        upstream,
                        fp,
                        watcher,
                        redis_server.process.pid,
                    )
                )
                index += 1
    finally:
        if load is not None:
            load.close()
        for item in pending:  # started or not: stop() is a no-op for one that is not running
            item.proxy.stop()
        if upstream_process is not None:
            targets._terminate(upstream_process)
        if watcher is not None:
            watcher.close()
        redis_server.stop()
    ok = bool(cells) and all(
        cell.errors == 0 and cell.during_cooldown == 0 and cell.cooldown_seconds is not None for cell in cells
    )
    print_report(cells, args)
    if args.json:
        args.json.write_text(json.dumps(summary(cells, args, ok), indent=2))
    print(f"\n{'ok' if ok else 'FAILED'}: logs and configs in {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
