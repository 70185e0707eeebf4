"""Profile one proxy target on the Claude Code path: where LiteLLM spends its CPU.

Run it from the repository root (needs py-spy: `pip install py-spy`):

    python bench/hotspots.py                          # bundle, streaming, 20 chunks, 20 s
    python bench/hotspots.py --target stock --no-stream --seconds 30
    python bench/hotspots.py --target no-plugins --chunks 200   # per-chunk work dominates

It starts the instant upstream and the chosen target as `bench/run.py` does, loads it with the
benchmark's request (concurrency 4 by default), records it with `py-spy record --gil` (only
the thread holding the GIL: Python CPU, not waiting) and prints two tables: the functions where
samples land (self) and the functions on the stack (inclusive), as a share of all samples,
with paths shortened to the package. The raw folded stacks stay in `bench/.cache/runs/` for a
flame graph (`flamegraph.pl` or speedscope.app).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import targets, workload
from bench.driver import LoadGenerator, command_for, log, request_bodies

FRAME: Final = re.compile(r"(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")
SITE_PACKAGES: Final = re.compile(r".*/site-packages/")
STDLIB: Final = frozenset(sys.stdlib_module_names) | {"importlib"}
# Event-loop and server plumbing every stack starts with: left out of the inclusive table.
PLUMBING: Final = (
    "asyncio/",
    "uvloop",
    "uvicorn/",
    "starlette/",
    "fastapi/applications.py",
    "fastapi/middleware/",
    "fastapi/telemetry/",
    "fastapi/_body_limit.py",
    "Middleware.__call__",
    "threading.py",
    "<frozen runpy>",
    "bin/litellm",
    "(litellm)",
    "proxy_cli.py",
    "click/",
    "anyio/",
    "concurrent/futures/",
)


def shorten(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match['function']} ({SITE_PACKAGES.sub('', match['file'])})"


def frame_package(frame: str) -> str:
    """The top-level package of a py-spy frame (`json`, `starlette`, `litellm_plugins`, ...)."""
    match = FRAME.match(frame)
    path = match["file"] if match else frame
    if path.startswith("<frozen"):
        return "importlib"
    path = re.sub(r".*/(site|dist)-packages/", "", path)
    path = re.sub(r".*/lib/python3\.\d+/", "", path)
    return path.lstrip("/").split("/", 1)[0].removesuffix(".py")


def own_plugin_samples(frames: Sequence[str]) -> bool:
    """True when the sample is the plugins' own work: the deepest `litellm_plugins` frame has only
    standard-library code below it (json, re, logging, ...), not LiteLLM or another package that
    a plugin's wrapper (an ASGI layer, a streaming hook) is merely passing through."""
    deepest = max((i for i, frame in enumerate(frames) if "litellm_plugins/" in frame), default=None)
    if deepest is None:
        return False
    return all(frame_package(frame) in STDLIB for frame in frames[deepest + 1 :])


def plugin_share(folded: Path) -> tuple[float, collections.Counter[str]]:
    """(share of all samples that are the plugins' own work, those samples by plugin function)."""
    total = 0
    by_function: collections.Counter[str] = collections.Counter()
    for line in folded.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        if own_plugin_samples(frames):
            deepest = max(i for i, frame in enumerate(frames) if "litellm_plugins/" in frame)
            by_function[shorten(frames[deepest])] += int(count)
    return (sum(by_function.values()) / total if total else 0.0), by_function


def tables(folded: Path, top: int) -> tuple[int, list[tuple[float, str]], list[tuple[float, str]]]:
    """(samples, [(share, function)] by self samples, [(share, function)] by inclusive samples)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [shorten(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            if not any(marker in frame for marker in PLUMBING):
                inclusive[frame] += samples
    if not total:
        return 0, [], []

    def share(counter: collections.Counter[str]) -> list[tuple[float, str]]:
        return [(count / total, name) for name, count in counter.most_common(top)]

    return total, share(own), share(inclusive)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--target", choices=("stock", "no-plugins", "bundle"), default="bundle")
    parser.add_argument("--native", action="store_true", help="the deployment as anthropic/ (no translation)")
    parser.add_argument("--no-stream", action="store_true")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--folded", type=Path, help="only print the tables of an earlier recording")
    parser.add_argument(
        "--cpu-ms", type=float, default=float("nan"), help="with --folded: CPU ms per request"
    )
    args = parser.parse_args(argv)
    if args.folded:
        print_tables(args.folded, args.top, args.cpu_ms)
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        sys.stderr.write("py-spy is not installed: pip install py-spy\n")
        return 2
    workdir = targets.run_folder(None, "profile-")
    upstream = targets.start_upstream(args.chunks, workdir)
    base = upstream.url.rsplit("/chat/completions", 1)[0]
    bundle = targets.bundle_config(base, native=args.native)
    configs = {
        "bundle": bundle,
        "no-plugins": targets.without_plugins(bundle, workload.MODEL),
        "stock": targets.stock_config(base, workload.MODEL, native=args.native),
    }
    pending = targets.litellm_proxy(
        args.target, configs[args.target], workdir, plugins=args.target == "bundle"
    )
    load = LoadGenerator()
    try:
        target = targets.start_litellm(pending)
        stream = not args.no_stream
        bodies = request_bodies()
        load.measure(command_for(target, (args.concurrency, stream), 1.0, bodies, warmup=16))
        folded = (
            workdir
            / f"{args.target}{'-native' if args.native else ''}-{'stream' if stream else 'plain'}.folded"
        )
        answer: dict[str, Any] = {}

        def drive() -> None:
            answer.update(
                load.measure(command_for(target, (args.concurrency, stream), args.seconds + 4, bodies))
            )

        driver = threading.Thread(target=drive)
        driver.start()
        time.sleep(2)
        log(f"recording {args.target} for {args.seconds:.0f}s")
        subprocess.run(
            [
                py_spy,
                "record",
                "-p",
                str(target.pids[0]),
                "-d",
                str(int(args.seconds)),
                "-r",
                "200",
                "--gil",
                "--nonblocking",
                "-f",
                "raw",
                "-o",
                str(folded),
            ],
            check=False,
            capture_output=True,
        )
        driver.join()
    finally:
        load.close()
        pending.proxy.stop()
        upstream.stop()
    count = int(answer.get("count", 0) or 0)
    cpu_ms = 1000 * float(answer.get("proxy_cpu_seconds", 0.0) or 0.0) / count if count else float("nan")
    sys.stdout.write(
        f"{args.target}{' (native)' if args.native else ''}, {'streaming' if stream else 'non-streaming'}, "
        f"{args.chunks} chunks, concurrency {args.concurrency}: {count} requests, {cpu_ms:.1f} ms proxy CPU "
        "per request\n"
    )
    print_tables(folded, args.top, cpu_ms)
    (workdir / "answer.json").write_text(
        json.dumps({k: v for k, v in answer.items() if k not in ("latencies", "first_bytes")})
    )
    return 0 if answer.get("errors") == 0 else 1


def print_tables(folded: Path, top: int, cpu_ms: float) -> None:
    total, own, inclusive = tables(folded, top)
    out = sys.stdout
    out.write(f"{total} samples\n\nself (where samples land):\n")
    out.write("\n".join(f"{100 * share:6.1f}%  {name}" for share, name in own) + "\n\n")
    out.write("inclusive (on the stack; server and ASGI plumbing left out):\n")
    out.write("\n".join(f"{100 * share:6.1f}%  {name}" for share, name in inclusive) + "\n")
    share, by_function = plugin_share(folded)
    out.write(
        "\nthe plugins' own code (deepest litellm_plugins frame with only the standard library below it): "
        f"{100 * share:.2f}% of samples, about {share * cpu_ms:.2f} ms of the {cpu_ms:.1f} ms per request\n"
    )
    total_samples = sum(by_function.values()) or 1
    for name, samples in by_function.most_common(12):
        out.write(f"{100 * share * samples / total_samples:6.2f}%  {name}\n")
    out.write(f"\nfolded stacks: {folded}\n")


if __name__ == "__main__":
    sys.exit(main())
