"""What a streamed reply costs the proxy against its length and kind, and the proxy's peak memory
against the reply's size (issue 19).

Run it from the repository root:

    python bench/stream_curve.py            # about 10 minutes: 2 rounds of 1.5 s cells, the memory curve
    python bench/stream_curve.py --quick    # about 3 minutes: 1 round of 0.5 s cells, sizes to 1 MB
    python bench/stream_curve.py --kinds text --lengths 20 --sizes 1000 --rounds 1 --json out.json

**The curve**: for each reply kind of `bench/instant_upstream.py` (`text`; `thinking`: a thinking
block then text; `tool_use`: text then a `Bash` call streamed as `input_json_delta`s; on the chat
route `reasoning_content` and `tool_calls` deltas) and each length (20, 200, 2,000 content
deltas), every target of `bench/run.py` asked for (stock, no-plugins, bundle, their `-native`
variants on an `anthropic/` deployment, claude-code-router) gets Claude Code's request
(`bench/workload.py`), streamed, one at a time (concurrency 1). The request names its reply
with a `[bench-reply kind=... chunks=N]` marker in the user's message, which every proxy
forwards, so one upstream and one proxy per target serve every cell. Each round measures every
cell target by target, compared targets adjacent, every other round reversed (A B B A); a cell
is `--duration` seconds and at least `--min-requests` requests (a 2,000-delta reply takes seconds
on the chat route, so there one request is the cell). Per cell: p50 latency and time to
first byte, proxy CPU per request (utime + stime of the process tree from /proc, as
`bench/load.py` reads it); per pair (bundle / no-plugins, on both routes): the CPU ratio and the
p50 difference, round by round and their median; per target and kind: the CPU each extra delta
costs (the slope between the shortest and the longest reply).

**The memory curve**: after the curve, each memory target (default the three `-native` ones)
streams replies of 1 KB, 10 KB, 100 KB, 1 MB and 10 MB of text (`[bench-reply kind=text
bytes=N]`, 1,000-byte deltas) in ascending order on the same proxy: one warm-up request at the
size, then the tree's peak RSS (VmHWM of every process) is set back to its current RSS
(`/proc/<pid>/clear_refs`) and `--memory-requests` requests are measured; the peak after them is
that size's. Printed: peak RSS per size, its ratio to the 1 KB value and the RSS left after.
Where the reset is refused the peaks are VmHWM since start, still valid in ascending order (the
peak is monotonic), and the table says so.

Numbers are printed, never judged: the exit status is 1 only when a target failed to start or a
request failed. Logs and configs stay in `bench/.cache/runs/curve-<time>/`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, targets, workload
from bench.driver import LoadGenerator, command_for, log, machine_header, target_problems, write_public_json
from bench.instant_upstream import KINDS, SIZE_PIECE_BYTES, ReplySpec
from bench.report import Round
from bench.run import machine, start_targets

LENGTHS: Final = (20, 200, 2000)
SIZES: Final = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES: Final = (1_000, 10_000, 100_000, 1_000_000)
CURVE_TARGETS: Final = (
    "stock",
    "no-plugins",
    "bundle",
    "stock-native",
    "no-plugins-native",
    "bundle-native",
    "router",
)
MEMORY_TARGETS: Final = ("stock-native", "no-plugins-native", "bundle-native")
MEMORY_CHOICES: Final = ("stock", "no-plugins", "bundle", *MEMORY_TARGETS)
PAIRS: Final = (("bundle", "no-plugins"), ("bundle-native", "no-plugins-native"))
# A 2,000-delta reply takes several seconds on the chat route: one request is a cell there.
DEFAULTS: Final = {"rounds": 2, "duration": 1.5, "min_requests": 1, "memory_requests": 2}
QUICK: Final = {"rounds": 1, "duration": 0.5, "min_requests": 1, "memory_requests": 1}
Point = tuple[str, int]  # (reply kind, content deltas)


# -- requests (pure) -------------------------------------------------------------------------------
def request_bodies(spec: ReplySpec) -> dict[tuple[str, bool], str]:
    """The benchmark request, streamed, naming `spec`'s reply in the user's message."""
    request = workload.claude_code_request(stream=True)
    request["messages"][0]["content"][-1]["text"] += f" {spec.marker()}"
    return {
        ("anthropic", True): json.dumps(request),
        ("openai", True): json.dumps(workload.openai_equivalent(request)),
    }


def cell_command(
    target: targets.Target,
    bodies: dict[tuple[str, bool], str],
    duration: float,
    min_requests: int,
    warmup: int = 0,
    reset_peak: bool = False,
) -> dict[str, Any]:
    command = command_for(target, (1, True), duration, bodies, warmup=warmup)
    command.update({"min_requests": min_requests, "reset_peak": reset_peak, "timeout": 300})
    return command


# -- results (pure) --------------------------------------------------------------------------------
@dataclass
class CurveRow:
    """One target at one point of the curve, over every round."""

    target: str
    kind: str
    chunks: int
    requests: int
    errors: int
    p50_ms: float
    ttfb_p50_ms: float
    cpu_ms_per_request: float
    cpu_ms_by_round: list[float] = field(default_factory=list)
    first_error: str | None = None

    @classmethod
    def from_rounds(cls, target: str, point: Point, rounds: Sequence[Round]) -> CurveRow:
        summary = report.summarize(target, (1, True), rounds)
        return cls(
            target,
            point[0],
            point[1],
            summary.requests,
            summary.errors,
            summary.p50_ms,
            summary.ttfb_p50_ms,
            summary.cpu_ms_per_request,
            summary.cpu_ms_by_round,
            summary.first_error,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "chunks": self.chunks,
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": _number(self.p50_ms),
            "ttfb_p50_ms": _number(self.ttfb_p50_ms),
            "cpu_ms_per_request": _number(self.cpu_ms_per_request, 3),
            "cpu_ms_per_request_by_round": [_number(x, 3) for x in self.cpu_ms_by_round],
            "first_error": self.first_error,
        }


@dataclass
class CurveRatio:
    """One pair at one point: the CPU ratio and p50 difference of each round, and their medians."""

    numerator: str
    denominator: str
    kind: str
    chunks: int
    cpu_by_round: list[float]
    p50_delta_ms_by_round: list[float]

    @property
    def cpu(self) -> float:
        return _median(self.cpu_by_round)

    @property
    def p50_delta_ms(self) -> float:
        return _median(self.p50_delta_ms_by_round)

    def as_json(self) -> dict[str, Any]:
        return {
            "pair": f"{self.numerator}/{self.denominator}",
            "kind": self.kind,
            "chunks": self.chunks,
            "cpu_per_request": _number(self.cpu, 4),
            "cpu_per_request_by_round": [_number(x, 4) for x in self.cpu_by_round],
            "p50_delta_ms": _number(self.p50_delta_ms, 3),
            "p50_delta_ms_by_round": [_number(x, 3) for x in self.p50_delta_ms_by_round],
        }


def curve_ratio(
    numerator: str, denominator: str, point: Point, top: Sequence[Round], bottom: Sequence[Round]
) -> CurveRatio | None:
    """Round by round: the two measurements of one round divided (CPU) and subtracted (p50)."""
    pairs = [(a, b) for a, b in zip(top, bottom, strict=False) if a.ok and b.ok]
    if not pairs:
        return None
    return CurveRatio(
        numerator,
        denominator,
        point[0],
        point[1],
        [a.cpu_ms_per_request / b.cpu_ms_per_request for a, b in pairs if b.cpu_seconds > 0],
        [a.p50_ms - b.p50_ms for a, b in pairs],
    )


def per_delta_us(rows: Sequence[CurveRow]) -> dict[tuple[str, str], float]:
    """(target, kind): the CPU each extra content delta costs, in µs: the slope of CPU per request
    between the shortest and the longest reply measured."""
    found: dict[tuple[str, str], float] = {}
    by_line: dict[tuple[str, str], list[CurveRow]] = {}
    for row in rows:
        if not math.isnan(row.cpu_ms_per_request):
            by_line.setdefault((row.target, row.kind), []).append(row)
    for line, points in by_line.items():
        short, long = min(points, key=lambda r: r.chunks), max(points, key=lambda r: r.chunks)
        if long.chunks > short.chunks:
            found[line] = (
                1000 * (long.cpu_ms_per_request - short.cpu_ms_per_request) / (long.chunks - short.chunks)
            )
    return found


@dataclass
class MemoryRow:
    target: str
    size: int
    peak_rss_mb: float
    rss_after_mb: float
    peak_reset: bool
    requests: int
    errors: int
    first_error: str | None = None

    def as_json(self, baseline: float) -> dict[str, Any]:
        return {
            "target": self.target,
            "bytes": self.size,
            "peak_rss_mb": _number(self.peak_rss_mb, 1),
            "ratio_to_smallest": _number(self.peak_rss_mb / baseline if baseline else math.nan, 4),
            "rss_after_mb": _number(self.rss_after_mb, 1),
            "peak_reset": self.peak_reset,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
        }


def memory_baselines(rows: Sequence[MemoryRow]) -> dict[str, float]:
    """Each target's peak at its smallest size measured."""
    smallest: dict[str, MemoryRow] = {}
    for row in rows:
        if row.target not in smallest or row.size < smallest[row.target].size:
            smallest[row.target] = row
    return {name: row.peak_rss_mb for name, row in smallest.items()}


def _number(value: float, digits: int = 2) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def _median(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return statistics.median(kept) if kept else math.nan


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def size_label(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


# -- tables (pure) ---------------------------------------------------------------------------------
def curve_table(rows: Sequence[CurveRow], names: Sequence[str]) -> str:
    """Per point (kind, deltas): each target's CPU ms per request and p50 ms; then the CPU per
    extra delta."""
    present = [name for name in names if any(row.target == name for row in rows)]
    cells = {(row.target, row.kind, row.chunks): row for row in rows}
    points = list(dict.fromkeys((row.kind, row.chunks) for row in rows))
    values = {
        point: [
            "-"
            if (row := cells.get((name, *point))) is None
            else f"{_fmt(row.cpu_ms_per_request)} / {_fmt(row.p50_ms)}"
            for name in present
        ]
        for point in points
    }
    width = 2 + max(
        [14, *(len(name) for name in present), *(len(v) for line in values.values() for v in line)]
    )
    header = f"{'kind':<10}{'deltas':>7}  " + "".join(f"{name:>{width}}" for name in present)
    lines = ["CPU ms per request / p50 ms, streaming, concurrency 1", header, "-" * len(header)]
    for (kind, chunks), line in values.items():
        lines.append(f"{kind:<10}{chunks:>7,}  " + "".join(f"{value:>{width}}" for value in line))
    slopes = per_delta_us(rows)
    if slopes:
        lines.append("")
        lines.append("CPU per extra delta, µs (slope from the shortest to the longest reply)")
        for kind in dict.fromkeys(kind for kind, _ in points):
            slope = [_fmt(slopes.get((name, kind), math.nan), 0) for name in present]
            lines.append(f"{kind:<10}{'':>7}  " + "".join(f"{value:>{width}}" for value in slope))
    return "\n".join(lines)


def ratio_table(ratios: Sequence[CurveRatio]) -> str:
    header = (
        f"{'pair':<34}{'kind':<10}{'deltas':>7}{'CPU/req':>10}{'p50 +ms':>10}  by round (CPU ratio, p50 +ms)"
    )
    lines = [header, "-" * len(header)]
    for ratio in ratios:
        by_round = ", ".join(
            f"{cpu:.3f} {delta:+.2f}"
            for cpu, delta in zip(ratio.cpu_by_round, ratio.p50_delta_ms_by_round, strict=False)
        )
        lines.append(
            f"{ratio.numerator + '/' + ratio.denominator:<34}{ratio.kind:<10}{ratio.chunks:>7,}"
            f"{_fmt(ratio.cpu, 3):>10}{_fmt(ratio.p50_delta_ms, 2):>10}  {by_round}"
        )
    return "\n".join(lines)


def memory_table(rows: Sequence[MemoryRow]) -> str:
    """Peak RSS per size and target, with the ratio to the target's smallest size."""
    names = list(dict.fromkeys(row.target for row in rows))
    sizes = sorted({row.size for row in rows})
    cells = {(row.target, row.size): row for row in rows}
    baselines = memory_baselines(rows)
    width = max([26, *(len(name) + 2 for name in names)])
    header = f"{'reply':>8}  " + "".join(f"{name:>{width}}" for name in names)
    lines = ["peak RSS of the proxy's process tree, MiB (ratio to the smallest reply; RSS after)", header]
    lines.append("-" * len(header))
    for size in sizes:
        values = []
        for name in names:
            row = cells.get((name, size))
            if row is None or row.errors or not row.requests:
                values.append("-" if row is None else "failed")
                continue
            ratio = row.peak_rss_mb / baselines[name] if baselines.get(name) else math.nan
            values.append(f"{_fmt(row.peak_rss_mb)} ({_fmt(ratio, 3)}x; {_fmt(row.rss_after_mb)})")
        lines.append(f"{size_label(size):>8}  " + "".join(f"{value:>{width}}" for value in values))
    if any(not row.peak_reset for row in rows if row.requests and not row.errors):
        lines.append("(the peak could not be reset between sizes: VmHWM since start, sizes ascending)")
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------------------------
def measure_curve(
    load: LoadGenerator,
    running: Mapping[str, targets.Target],
    names: Sequence[str],
    points: Sequence[Point],
    args: argparse.Namespace,
) -> dict[str, dict[Point, list[Round]]]:
    bodies = {point: request_bodies(ReplySpec(point[0], point[1])) for point in points}
    results: dict[str, dict[Point, list[Round]]] = {name: {point: [] for point in points} for name in names}
    for index in range(args.rounds):
        ordered = list(names) if index % 2 == 0 else list(names)[::-1]  # A B B A
        for point in points:
            for name in ordered:
                command = cell_command(running[name], bodies[point], args.duration, args.min_requests)
                measured = Round.from_answer(load.measure(command))
                results[name][point].append(measured)
                if not measured.ok:
                    log(f"{name} {point}: {measured.errors} failed, first: {measured.error}")
        log(f"curve round {index + 1}/{args.rounds} done")
    return results


def measure_memory(
    load: LoadGenerator, running: Mapping[str, targets.Target], names: Sequence[str], args: argparse.Namespace
) -> list[MemoryRow]:
    rows: list[MemoryRow] = []
    for size in sorted(args.sizes):  # ascending: where the reset is refused the peak is monotonic
        bodies = request_bodies(ReplySpec("text", size=size, piece=args.piece_bytes))
        for name in names:
            command = cell_command(
                running[name], bodies, 0.0, args.memory_requests, warmup=1, reset_peak=True
            )
            answer = load.measure(command)
            measured = Round.from_answer(answer)
            rows.append(
                MemoryRow(
                    name,
                    size,
                    measured.peak_rss_mb,
                    float(answer.get("rss_mb_after", math.nan)),
                    bool(answer.get("peak_reset")),
                    measured.count,
                    measured.errors + (1 if measured.error and not measured.errors else 0),
                    measured.error,
                )
            )
            if not measured.ok:
                log(f"{name} {size_label(size)}: failed: {measured.error}")
        log(f"memory: {size_label(size)} done")
    return rows


def warm_up(
    load: LoadGenerator, running: Mapping[str, targets.Target], names: Sequence[str], points: Sequence[Point]
) -> dict[str, str]:
    """One request per target and kind, at its shortest length (the code paths a kind takes do not
    change with its length; the upstream builds the longer replies on their first request)."""
    failed: dict[str, str] = {}
    shortest = {kind: min(length for k, length in points if k == kind) for kind, _ in points}
    for point in shortest.items():
        bodies = request_bodies(ReplySpec(point[0], point[1]))
        for name in names:
            if name in failed:
                continue
            problem = load.measure(cell_command(running[name], bodies, 0.0, 0, warmup=1)).get("error")
            if problem:
                failed[name] = f"warm-up at {point} failed: {problem}"
                log(f"{name}: {failed[name]}")
    return failed


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    workdir = targets.run_folder(args.workdir, "curve-")
    info = machine()
    points: list[Point] = [(kind, length) for kind in args.kinds for length in args.lengths]
    wanted = list(dict.fromkeys([*args.targets, *args.memory_targets]))
    running: dict[str, targets.Target] = {}
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    results: dict[str, dict[Point, list[Round]]] = {}
    memory: list[MemoryRow] = []
    load = LoadGenerator()
    try:
        failed, skipped = start_targets(wanted, LENGTHS[0], workdir, running)
        for name, why in {**failed, **skipped}.items():
            log(f"{name}: {why}")
        curve_names = [name for name in args.targets if name in running]
        memory_names = [name for name in args.memory_targets if name in running]
        log(f"started in {time.monotonic() - started:.0f}s; warming up")
        warm_failed = warm_up(load, running, list(dict.fromkeys([*curve_names, *memory_names])), points)
        for name, why in warm_failed.items():
            (skipped if name == "router" else failed)[name] = why
        curve_names = [name for name in curve_names if name not in warm_failed]
        memory_names = [name for name in memory_names if name not in warm_failed]
        if points and curve_names:
            results = measure_curve(load, running, curve_names, points, args)
        if args.sizes and memory_names:
            memory = measure_memory(load, running, memory_names, args)
    finally:
        load.close()
        targets.stop_all(running.values())
    rows = [
        CurveRow.from_rounds(name, point, rounds)
        for point in points
        for name, per_point in results.items()
        if (rounds := per_point.get(point))
    ]
    ratios = [
        ratio
        for numerator, denominator in PAIRS
        if numerator in results and denominator in results
        for point in points
        if (
            ratio := curve_ratio(
                numerator, denominator, point, results[numerator][point], results[denominator][point]
            )
        )
    ]
    errors = sum(row.errors for row in rows) + sum(row.errors for row in memory)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["router"] = running["router"].note if "router" in running else skipped.get("router", "not requested")
    baselines = memory_baselines(memory)
    return {
        "machine": info,
        "settings": {
            "rounds": args.rounds,
            "cell_seconds": args.duration,
            "min_requests": args.min_requests,
            "kinds": list(args.kinds),
            "lengths": list(args.lengths),
            "sizes": sorted(args.sizes),
            "piece_bytes": args.piece_bytes,
            "memory_requests": args.memory_requests,
            "request": workload.describe(),
        },
        "targets": {
            name: "ok"
            if name in running and name not in failed
            else failed.get(name) or skipped.get(name, "?")
            for name in wanted
        },
        "failed_targets": failed,
        "skipped_targets": skipped,
        "curve": [row.as_json() for row in rows],
        "ratios": [ratio.as_json() for ratio in ratios],
        "cpu_per_delta_us": [
            {"target": name, "kind": kind, "us": round(value, 1)}
            for (name, kind), value in per_delta_us(rows).items()
        ],
        "memory": [row.as_json(baselines.get(row.target, math.nan)) for row in memory],
        "errors": errors,
        "ok": not failed and errors == 0,
        "seconds": round(time.monotonic() - started, 1),
        "logs": str(workdir),
        "_rows": rows,
        "_ratios": ratios,
        "_memory": memory,
        "_names": list(args.targets),
    }


def print_report(outcome: dict[str, Any]) -> None:
    settings, out = outcome["settings"], sys.stdout
    out.write(
        f"\n{machine_header(outcome['machine'])}\n"
        f"request: {settings['request']}; {settings['rounds']} rounds x {settings['cell_seconds']} s "
        f"(at least {settings['min_requests']} requests) per cell\n\n"
    )
    if outcome["_rows"]:
        out.write(curve_table(outcome["_rows"], outcome["_names"]) + "\n\n")
    if outcome["_ratios"]:
        out.write("Pairs (CPU/req < 1 favours the first; median of the rounds, then each round):\n")
        out.write(ratio_table(outcome["_ratios"]) + "\n\n")
    if outcome["_memory"]:
        out.write(
            f"Memory: text replies in {settings['piece_bytes']:,}-byte deltas, "
            f"{settings['memory_requests']} measured request(s) per size after one warm-up\n"
        )
        out.write(memory_table(outcome["_memory"]) + "\n")
    out.write(target_problems(outcome))
    status = "ok" if outcome["ok"] else f"FAILED ({outcome['errors']} request errors)"
    out.write(f"\n{status} in {outcome['seconds']:.0f}s; logs in {outcome['logs']}\n")
    out.flush()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 0.5 s cells, sizes up to 1 MB")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULTS['rounds']})")
    parser.add_argument("--duration", type=float, help=f"seconds per cell (default {DEFAULTS['duration']})")
    parser.add_argument(
        "--min-requests", type=int, help=f"requests per cell at least ({DEFAULTS['min_requests']})"
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument(
        "--lengths", nargs="+", type=int, default=list(LENGTHS), help="content deltas per reply"
    )
    parser.add_argument("--targets", nargs="+", choices=CURVE_TARGETS, default=list(CURVE_TARGETS))
    parser.add_argument("--no-router", action="store_true", help="leave claude-code-router out")
    parser.add_argument(
        "--sizes", nargs="*", type=int, help="reply sizes in bytes for the memory curve (none: skip)"
    )
    parser.add_argument("--memory-targets", nargs="*", choices=MEMORY_CHOICES, default=list(MEMORY_TARGETS))
    parser.add_argument("--memory-requests", type=int, help="measured requests per size (default 2, quick 1)")
    parser.add_argument("--piece-bytes", type=int, default=SIZE_PIECE_BYTES, help="content bytes per delta")
    parser.add_argument("--no-curve", action="store_true", help="only the memory curve")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument(
        "--workdir", type=Path, help="configs and logs (default bench/.cache/runs/curve-<time>)"
    )
    args = parser.parse_args(argv)
    chosen = QUICK if args.quick else DEFAULTS
    args.rounds = max(1, args.rounds or chosen["rounds"])
    args.duration = args.duration if args.duration is not None else chosen["duration"]
    args.min_requests = max(1, args.min_requests or chosen["min_requests"])
    args.memory_requests = max(1, args.memory_requests or chosen["memory_requests"])
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else SIZES)
    if args.no_router:
        args.targets = [name for name in args.targets if name != "router"]
    if args.no_curve:
        args.targets, args.kinds = [], []
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outcome = run(args)
    print_report(outcome)
    if args.json:
        write_public_json(args.json, outcome)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
