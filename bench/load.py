"""The benchmark's load generator: a cheap async HTTP client in its own process.

`bench/run.py` starts it once (`python bench/load.py --serve`) and sends it one JSON command per
line on stdin; it answers each with one JSON line on stdout. A command measures one cell (one
target, one concurrency, streaming or not):

    {"url": "http://127.0.0.1:4000/v1/messages", "headers": {...}, "body": "<json text>",
     "concurrency": 16, "duration": 5.0, "warmup": 32, "pids": [1234], "expect": "anthropic"}

`concurrency` workers share one keep-alive connection pool and send the same request back to
back. With `"targets": [{...}, {...}]` (each entry overriding the command's keys) several
targets are loaded in the same window, each with its own pool, workers and CPU accounting, and
the answer is `{"results": [...]}` (`bench/settings_sweep.py` compares variants that way). After
`warmup` requests (not measured) the proxy's CPU time is read from
`/proc/<pid>/stat` (utime + stime of the process and all its descendants, so `--num_workers`
and Node's helpers count), then the workers run until `duration` has passed; the CPU time is
read again once every request that started has finished, so the window holds exactly the
requests counted. `"min_requests": N` keeps the workers going past `duration` until N requests
have started (a cell of 10 MB replies may take longer than its duration for one request);
`"reset_peak": true` sets the tree's peak RSS back to its current RSS just before the window
(`/proc/<pid>/clear_refs`), so the peak answered is the window's own. The answer has every
latency and time to first body byte, the proxy CPU seconds, the peak resident memory of the
process tree (VmHWM), its resident memory before and after the window (VmRSS) and this
process's own CPU time (to see whether the load generator, not the proxy, was the limit).

Three keys for several replicas (`bench/replicas.py`), all optional: `"urls": [...]` sends
request n to `urls[n % len(urls)]` (a client-side round-robin load balancer; `url` is then
unused); `"session_prefix": "r1"` gives each worker its own Claude Code session
(`x-claude-code-session-id: r1-<worker>`: many users, not one); `"mark": "@REQ@"` replaces that
placeholder in the body with a unique id per request (`<mark_prefix><n>`, fixed width) and the
answer lists `"sent": [[id, epoch seconds when it was sent], ...]`, so an upstream's own record
can be matched with the moment each request left the client.

A request counts as failed when the status is not 200 or the body is not a complete answer
(`message_stop` in an Anthropic stream, `[DONE]` in an OpenAI stream, a `content`/`choices` key
otherwise); the first failure's status and body start are kept for the report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
PAGE_KB: Final = os.sysconf("SC_PAGE_SIZE") // 1024
COMPLETE_MARKERS: Final = {
    ("anthropic", True): b"message_stop",
    ("anthropic", False): b'"content"',
    ("openai", True): b"[DONE]",
    ("openai", False): b'"choices"',
}


# -- the process tree, from /proc ------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def process_tree(roots: Iterable[int]) -> list[int]:
    """`roots` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [pid for pid in roots if os.path.exists(f"/proc/{pid}")]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime + stime of `pids` (every thread, live or exited), in seconds."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / CLOCK_TICKS


def _status_mb(pids: Iterable[int], field_name: str) -> float:
    """The sum of one `/proc/<pid>/status` field (kB) over `pids`, in MiB."""
    total_kb = 0
    prefix = field_name + ":"
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith(prefix):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kb / 1024


def peak_rss_mb(pids: Iterable[int]) -> float:
    """The sum of each process's peak resident set (VmHWM), in MiB."""
    return _status_mb(pids, "VmHWM")


def rss_mb(pids: Iterable[int]) -> float:
    """The sum of each process's resident set now (VmRSS), in MiB."""
    return _status_mb(pids, "VmRSS")


def reset_peak_rss(pids: Iterable[int]) -> bool:
    """Set each process's peak resident set (VmHWM) back to its current one (Linux: write 5 to
    `/proc/<pid>/clear_refs`, allowed for one's own processes); False when any could not be."""
    done = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
        except OSError:
            done = False
    return done


# -- one cell --------------------------------------------------------------------------------------
@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None


async def one_request(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    marker: bytes,
    samples: Samples | None,
) -> None:
    started = time.perf_counter()
    first_byte = None
    status = 0
    tail = b""
    size = 0
    head = b""
    try:
        async with session.post(url, data=body, headers=headers) as response:
            status = response.status
            async for chunk in response.content.iter_any():
                if first_byte is None:
                    first_byte = time.perf_counter()
                    head = chunk[:300]
                size += len(chunk)
                tail = (tail + chunk)[-4096:]
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        status, tail = -1, f"{type(error).__name__}: {error}".encode()
    finished = time.perf_counter()
    if samples is None:
        return
    if status != 200 or marker not in tail and marker not in head:
        samples.errors += 1
        if samples.first_error is None:
            samples.first_error = f"HTTP {status}: {(head or tail)[:300].decode(errors='replace')}"
        return
    samples.latencies.append(finished - started)
    samples.first_bytes.append((first_byte or finished) - started)


@dataclass
class Spec:
    """One target of a command: where to send what, and which process tree to watch."""

    url: str
    headers: dict[str, str]
    body: bytes
    marker: bytes
    roots: list[int]
    concurrency: int
    warmup: int
    min_requests: int = 0
    started: int = 0
    samples: Samples = field(default_factory=Samples)
    urls: list[str] = field(default_factory=list)
    session_prefix: str | None = None
    mark: bytes | None = None
    mark_prefix: str = ""
    sent: list[tuple[str, float]] = field(default_factory=list)
    issued: int = 0

    def next_request(self, worker: int) -> tuple[str, dict[str, str], bytes]:
        """(url, headers, body) of the next request a worker sends."""
        number = self.issued
        self.issued += 1
        url = self.urls[number % len(self.urls)] if self.urls else self.url
        headers = self.headers
        if self.session_prefix is not None:
            headers = {**headers, "x-claude-code-session-id": f"{self.session_prefix}-{worker}"}
        body = self.body
        if self.mark is not None:
            ident = f"{self.mark_prefix}{number:07d}"
            body = body.replace(self.mark, ident.encode())
            self.sent.append((ident, time.time()))
        return url, headers, body

    @classmethod
    def parse(cls, spec: dict[str, Any], defaults: dict[str, Any]) -> Spec:
        merged = {**defaults, **spec}
        body = merged["body"]
        concurrency = int(merged["concurrency"])
        return cls(
            url=merged["url"],
            headers=dict(merged["headers"]),
            body=body.encode() if isinstance(body, str) else body,
            marker=COMPLETE_MARKERS[merged.get("expect", "anthropic"), bool(merged.get("stream"))],
            roots=[int(pid) for pid in merged.get("pids", [])],
            concurrency=concurrency,
            warmup=int(merged.get("warmup", concurrency * 2)),
            urls=[str(url) for url in merged.get("urls") or []],
            session_prefix=merged.get("session_prefix"),
            mark=str(merged["mark"]).encode() if merged.get("mark") else None,
            mark_prefix=str(merged.get("mark_prefix") or ""),
            min_requests=int(merged.get("min_requests", 0)),
        )


async def measure(command: dict[str, Any]) -> dict[str, Any]:
    """One cell; with `"targets": [{...}, ...]` several targets are loaded in the same window
    (each with its own connections, concurrency and CPU accounting) and the answer is
    `{"results": [one answer per target]}`."""
    defaults = {key: value for key, value in command.items() if key != "targets"}
    specs = [Spec.parse(spec, defaults) for spec in command.get("targets") or [{}]]
    duration = float(command["duration"])
    timeout = aiohttp.ClientTimeout(total=float(command.get("timeout", 60)))
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=spec.concurrency), timeout=timeout)
        for spec in specs
    ]
    try:
        warmup_failures = [Samples() for _ in specs]

        async def warm(spec: Spec, session: aiohttp.ClientSession, failures: Samples) -> None:
            for start in range(0, spec.warmup, spec.concurrency):
                batch = min(spec.concurrency, spec.warmup - start)
                await asyncio.gather(
                    *(
                        one_request(session, *spec.next_request(worker), spec.marker, failures)
                        for worker in range(batch)
                    )
                )

        await asyncio.gather(
            *(
                warm(spec, session, failures)
                for spec, session, failures in zip(specs, sessions, warmup_failures)
            )
        )
        if any(failures.errors for failures in warmup_failures):
            failed: list[dict[str, Any]] = [
                {"error": f.first_error, "errors": f.errors, "count": 0}
                if f.errors
                else {"count": 0, "error": "not measured: another target failed its warm-up", "errors": 1}
                for f in warmup_failures
            ]
            return failed[0] if "targets" not in command else {"results": failed}
        trees = [process_tree(spec.roots) for spec in specs]
        peak_reset = [reset_peak_rss(tree) if command.get("reset_peak") else False for tree in trees]
        rss_before = [rss_mb(tree) for tree in trees]
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = [cpu_seconds(tree) for tree in trees]
        started = time.perf_counter()
        deadline = started + duration

        async def worker(spec: Spec, session: aiohttp.ClientSession, index: int) -> None:
            while time.perf_counter() < deadline or spec.started < spec.min_requests:
                spec.started += 1
                await one_request(session, *spec.next_request(index), spec.marker, spec.samples)

        await asyncio.gather(
            *(
                worker(spec, session, index)
                for spec, session in zip(specs, sessions)
                for index in range(spec.concurrency)
            )
        )
        elapsed = time.perf_counter() - started
        trees_after = [process_tree(spec.roots) for spec in specs]
        cpu_after = [cpu_seconds(tree) for tree in trees_after]
        own_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        for session in sessions:
            await session.close()
    own_cpu = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    answers: list[dict[str, Any]] = [
        {
            "count": len(spec.samples.latencies),
            "errors": spec.samples.errors,
            "error": spec.samples.first_error,
            "elapsed": elapsed,
            "latencies": spec.samples.latencies,
            "first_bytes": spec.samples.first_bytes,
            # A process that exited during the window would make the difference negative: clamp.
            "proxy_cpu_seconds": max(0.0, after - before),
            "proxy_processes": len(tree),
            "peak_rss_mb": peak_rss_mb(tree),
            "peak_reset": reset,
            "rss_mb_before": rss_start,
            "rss_mb_after": rss_mb(tree),
            "load_cpu_seconds": own_cpu / len(specs),
            **({"sent": spec.sent} if spec.mark is not None else {}),
        }
        for spec, before, after, tree, reset, rss_start in zip(
            specs, cpu_before, cpu_after, trees_after, peak_reset, rss_before
        )
    ]
    return answers[0] if "targets" not in command else {"results": answers}


async def serve() -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if not line.strip():
            continue
        try:
            result = await measure(json.loads(line))
        except Exception as error:  # noqa: BLE001 - any failure is a failed cell, reported to run.py
            result = {"error": f"load generator: {type(error).__name__}: {error}", "errors": 1, "count": 0}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--serve", action="store_true", help="read JSON commands on stdin, answer JSON lines on stdout"
    )
    parser.add_argument("--command", help="one JSON command; print the JSON answer")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.serve:
        asyncio.run(serve())
        return 0
    if args.command:
        print(json.dumps(asyncio.run(measure(json.loads(args.command)))))
        return 0
    parser.error("give --serve or --command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
