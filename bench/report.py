"""Statistics and tables for `bench/run.py` (pure functions over the load generator's answers).

A *cell* is one target at one concurrency, streaming or not; each round measures every cell
once. Per cell the summary holds: p50/p99 latency and p50 time to first byte over every request
of every round, the median over rounds of requests/s and of proxy CPU per request, requests per
proxy CPU-second (throughput per core), and the peak resident memory of the process tree.

Ratios compare two targets *pair by pair*: in each round, the two measurements of the same
cell (taken one after the other) are divided, and the median of those per-round ratios is
reported, so drift in the machine's load hits both sides of every ratio alike.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Cell = tuple[int, bool]  # (concurrency, streaming)
RATIO_PAIRS: Final = (
    ("bundle", "stock"),
    ("bundle", "no-plugins"),
    ("bundle-default-gc", "no-plugins"),
    ("bundle", "bundle-default-gc"),
    ("bundle", "router"),
    ("no-plugins", "stock"),
    ("bundle-2w", "bundle"),
    ("bundle-native", "stock-native"),
    ("bundle-native", "no-plugins-native"),
    ("bundle-native", "stock"),
    ("bundle-native", "router"),
    ("bundle-native-2w", "router"),
    ("bundle-native-2w", "bundle-native"),
)
TARGET_PLUGIN_CPU: Final = 1.03
TARGET_PLUGIN_P50_MS: Final = 0.5
TARGET_STREAM_PER_CORE: Final = 1.5


def cell_name(cell: Cell) -> str:
    concurrency, stream = cell
    return f"c{concurrency} {'stream' if stream else 'non-stream'}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 50 samples is the largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


@dataclass
class Round:
    """One measurement of one cell, as the load generator answered it."""

    count: int
    errors: int
    elapsed: float
    latencies: list[float]
    first_bytes: list[float]
    cpu_seconds: float
    peak_rss_mb: float
    load_cpu_seconds: float
    error: str | None = None

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> Round:
        return cls(
            count=int(answer.get("count", 0)),
            errors=int(answer.get("errors", 0)),
            elapsed=float(answer.get("elapsed", 0.0)),
            latencies=list(answer.get("latencies", [])),
            first_bytes=list(answer.get("first_bytes", [])),
            cpu_seconds=float(answer.get("proxy_cpu_seconds", 0.0)),
            peak_rss_mb=float(answer.get("peak_rss_mb", 0.0)),
            load_cpu_seconds=float(answer.get("load_cpu_seconds", 0.0)),
            error=answer.get("error"),
        )

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.error is None and self.count > 0

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.count if self.count else float("nan")

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def ttfb_p50_ms(self) -> float:
        return 1000 * statistics.median(self.first_bytes) if self.first_bytes else float("nan")


@dataclass
class CellSummary:
    target: str
    cell: Cell
    rounds: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    ttfb_p50_ms: float
    rps: float
    cpu_ms_per_request: float
    requests_per_cpu_second: float
    peak_rss_mb: float
    load_cpu_share: float  # the load generator's CPU seconds per wall second (1.0 = one core busy)
    first_error: str | None = None
    cpu_ms_by_round: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "concurrency": self.cell[0],
            "stream": self.cell[1],
            "rounds": self.rounds,
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": _round(self.p50_ms),
            "p99_ms": _round(self.p99_ms),
            "ttfb_p50_ms": _round(self.ttfb_p50_ms),
            "requests_per_second": _round(self.rps),
            "cpu_ms_per_request": _round(self.cpu_ms_per_request, 3),
            "requests_per_cpu_second": _round(self.requests_per_cpu_second),
            "peak_rss_mb": _round(self.peak_rss_mb, 0),
            "load_generator_cpu_share": _round(self.load_cpu_share),
            "first_error": self.first_error,
            "cpu_ms_per_request_by_round": [_round(x, 3) for x in self.cpu_ms_by_round],
        }


def _round(value: float, digits: int = 2) -> float | None:
    return None if math.isnan(value) else round(value, digits)  # NaN -> null in JSON


def _median(values: Iterable[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return statistics.median(kept) if kept else float("nan")


def summarize(target: str, cell: Cell, rounds: Sequence[Round]) -> CellSummary:
    latencies = [x for r in rounds for x in r.latencies]
    first_bytes = [x for r in rounds for x in r.first_bytes]
    good = [r for r in rounds if r.count]
    cpu = _median(r.cpu_ms_per_request for r in good)
    elapsed = sum(r.elapsed for r in good)
    return CellSummary(
        target=target,
        cell=cell,
        rounds=len(rounds),
        requests=sum(r.count for r in rounds),
        errors=sum(r.errors + (1 if r.error and not r.errors else 0) for r in rounds),
        p50_ms=1000 * percentile(latencies, 0.50) if latencies else float("nan"),
        p99_ms=1000 * percentile(latencies, 0.99) if latencies else float("nan"),
        ttfb_p50_ms=1000 * percentile(first_bytes, 0.50) if first_bytes else float("nan"),
        rps=_median(r.rps for r in good),
        cpu_ms_per_request=cpu,
        requests_per_cpu_second=1000 / cpu if not math.isnan(cpu) and cpu > 0 else float("nan"),
        peak_rss_mb=max((r.peak_rss_mb for r in rounds), default=float("nan")),
        load_cpu_share=sum(r.load_cpu_seconds for r in good) / elapsed if elapsed else float("nan"),
        first_error=next((r.error for r in rounds if r.error), None),
        cpu_ms_by_round=[r.cpu_ms_per_request for r in rounds],
    )


@dataclass
class PairRatio:
    numerator: str
    denominator: str
    cell: Cell
    cpu: float  # proxy CPU per request, numerator / denominator (< 1: numerator cheaper)
    rps: float  # requests/s, numerator / denominator (> 1: numerator faster)
    p50: float  # p50 latency, numerator / denominator
    p50_delta_ms: float  # p50 latency, numerator - denominator
    ttfb_delta_ms: float
    rounds: int

    @property
    def per_core(self) -> float:
        """Throughput per core, numerator / denominator: the inverse of the CPU ratio."""
        return 1 / self.cpu if not math.isnan(self.cpu) and self.cpu > 0 else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {
            "pair": f"{self.numerator}/{self.denominator}",
            "concurrency": self.cell[0],
            "stream": self.cell[1],
            "cpu_per_request": _round(self.cpu, 3),
            "throughput_per_core": _round(self.per_core, 3),
            "requests_per_second": _round(self.rps, 3),
            "p50": _round(self.p50, 3),
            "p50_delta_ms": _round(self.p50_delta_ms, 3),
            "ttfb_delta_ms": _round(self.ttfb_delta_ms, 3),
            "rounds": self.rounds,
        }


def pair_ratio(
    numerator: str, denominator: str, cell: Cell, top: Sequence[Round], bottom: Sequence[Round]
) -> PairRatio | None:
    pairs = [(a, b) for a, b in zip(top, bottom, strict=False) if a.ok and b.ok]
    if not pairs:
        return None
    return PairRatio(
        numerator,
        denominator,
        cell,
        cpu=_median(a.cpu_ms_per_request / b.cpu_ms_per_request for a, b in pairs if b.cpu_seconds > 0),
        rps=_median(a.rps / b.rps for a, b in pairs if b.rps > 0),
        p50=_median(a.p50_ms / b.p50_ms for a, b in pairs),
        p50_delta_ms=_median(a.p50_ms - b.p50_ms for a, b in pairs),
        ttfb_delta_ms=_median(a.ttfb_p50_ms - b.ttfb_p50_ms for a, b in pairs),
        rounds=len(pairs),
    )


def all_ratios(
    results: Mapping[str, Mapping[Cell, Sequence[Round]]], cells: Sequence[Cell]
) -> list[PairRatio]:
    found: list[PairRatio] = []
    for numerator, denominator in RATIO_PAIRS:
        if numerator not in results or denominator not in results:
            continue
        for cell in cells:
            top, bottom = results[numerator].get(cell), results[denominator].get(cell)
            if top and bottom:
                ratio = pair_ratio(numerator, denominator, cell, top, bottom)
                if ratio is not None:
                    found.append(ratio)
    return found


# -- text ------------------------------------------------------------------------------------------
def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def summary_table(summaries: Sequence[CellSummary]) -> str:
    width = max([12, *(len(s.target) + 2 for s in summaries)])
    header = (
        f"{'cell':<16}{'target':<{width}}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'TTFB ms':>9}"
        f"{'CPU ms/req':>11}{'req/CPU-s':>10}{'peak RSS':>10}{'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    previous: Cell | None = None
    for summary in summaries:
        if previous is not None and summary.cell != previous:
            lines.append("")
        previous = summary.cell
        lines.append(
            f"{cell_name(summary.cell):<16}{summary.target:<{width}}{_fmt(summary.rps):>8}{_fmt(summary.p50_ms):>9}"
            f"{_fmt(summary.p99_ms):>9}{_fmt(summary.ttfb_p50_ms):>9}"
            f"{_fmt(summary.cpu_ms_per_request, 2):>11}"
            f"{_fmt(summary.requests_per_cpu_second):>10}{_fmt(summary.peak_rss_mb, 0) + ' MB':>10}"
            f"{summary.errors:>7}"
        )
    return "\n".join(lines)


def ratio_table(ratios: Sequence[PairRatio]) -> str:
    width = max([22, *(len(r.numerator) + len(r.denominator) + 3 for r in ratios)])
    header = (
        f"{'pair':<{width}}{'cell':<16}{'CPU/req':>9}{'per core':>10}{'req/s':>8}{'p50':>8}{'p50 +ms':>9}"
        f"{'TTFB +ms':>10}{'rounds':>8}"
    )
    lines = [header, "-" * len(header)]
    for ratio in ratios:
        lines.append(
            f"{ratio.numerator + '/' + ratio.denominator:<{width}}{cell_name(ratio.cell):<16}"
            f"{_fmt(ratio.cpu, 3):>9}"
            f"{_fmt(ratio.per_core, 2) + 'x':>10}{_fmt(ratio.rps, 2) + 'x':>8}{_fmt(ratio.p50, 2):>8}"
            f"{_fmt(ratio.p50_delta_ms, 2):>9}{_fmt(ratio.ttfb_delta_ms, 2):>10}{ratio.rounds:>8}"
        )
    return "\n".join(lines)


@dataclass
class Verdict:
    """One of issue 7's targets, measured (never asserted: the harness exits 0 either way)."""

    name: str
    measured: str
    met: bool | None  # None: not measured in this run
    detail: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.name, "measured": self.measured, "met": self.met, "detail": self.detail}


def verdicts(ratios: Sequence[PairRatio], window: Sequence[PairRatio] = ()) -> list[Verdict]:
    """Issue 7's targets. CPU comparisons use the same-window cells when there are any (they
    are the steadiest on a shared machine) and list the one-after-the-other cells as detail;
    latency comparisons use the one-after-the-other cells at concurrency 1."""

    def find(pair: str, source: Sequence[PairRatio] = ratios) -> list[PairRatio]:
        return [r for r in source if f"{r.numerator}/{r.denominator}" == pair]

    def cpu_source(pair: str) -> tuple[list[PairRatio], str]:
        same = find(pair, window)
        return (same, "same window") if same else (find(pair), "one after the other")

    def per_core_lines(rows: Sequence[PairRatio], label: str) -> list[str]:
        return [f"{label} {cell_name(r.cell)}: {r.per_core:.2f}x per core, {r.rps:.2f}x req/s" for r in rows]

    def cpu_comparison(pair: str, name: str) -> list[Verdict]:
        """An informative CPU comparison: the steadiest cells, then latency one after the other."""
        rows, label = cpu_source(pair)
        if not rows:
            return []
        return [
            Verdict(
                name,
                "; ".join(f"{label} {cell_name(r.cell)}: CPU {r.cpu - 1:+.1%}" for r in rows),
                None,
                [
                    f"one after the other {cell_name(r.cell)}: CPU {r.cpu - 1:+.1%}, p50 "
                    f"{r.p50_delta_ms:+.2f} ms"
                    for r in find(pair)
                ],
            )
        ]

    out: list[Verdict] = []
    plugin, plugin_label = cpu_source("bundle/no-plugins")
    if plugin:
        worst = max(plugin, key=lambda r: r.cpu)
        out.append(
            Verdict(
                f"plugins: <= {TARGET_PLUGIN_CPU - 1:.0%} more proxy CPU per request than no-plugins",
                f"{plugin_label}, worst cell {cell_name(worst.cell)}: {worst.cpu - 1:+.1%}",
                worst.cpu <= TARGET_PLUGIN_CPU,
                [f"{plugin_label} {cell_name(r.cell)}: {r.cpu - 1:+.1%}" for r in plugin]
                + [
                    f"one after the other {cell_name(r.cell)}: {r.cpu - 1:+.1%}"
                    for r in find("bundle/no-plugins")
                    if plugin_label == "same window"
                ],
            )
        )
    single = [r for r in find("bundle/no-plugins") if r.cell[0] == 1]
    if single:
        worst_p50 = max(single, key=lambda r: r.p50_delta_ms)
        out.append(
            Verdict(
                f"plugins: <= {TARGET_PLUGIN_P50_MS} ms more p50 than no-plugins (concurrency 1)",
                f"worst cell {cell_name(worst_p50.cell)}: {worst_p50.p50_delta_ms:+.2f} ms",
                worst_p50.p50_delta_ms <= TARGET_PLUGIN_P50_MS,
                [
                    f"{cell_name(r.cell)}: p50 {r.p50_delta_ms:+.2f} ms, TTFB {r.ttfb_delta_ms:+.2f} ms"
                    for r in single
                ],
            )
        )
    if not plugin and not single:
        out.append(Verdict("plugins vs no-plugins", "not measured", None))
    out += cpu_comparison(
        "bundle-default-gc/no-plugins",
        "the plugins' own cost: the bundle with Python's default GC vs no-plugins (no target)",
    )
    out += cpu_comparison(
        "bundle/bundle-default-gc",
        "the shipped garbage-collection settings: bundle vs bundle-default-gc (no target)",
    )
    # The shipped configuration routes Claude Code to anthropic/ deployments (anthropic, glm, kimi,
    # deepseek); openai, openrouter and ollama bridge to chat completions. Both are reported.
    for pair, route in (
        (
            "bundle-native/stock",
            "Claude Code's route in config.yaml.example (anthropic/: anthropic, glm, kimi, deepseek)",
        ),
        ("bundle/stock", "the chat route (openai/: openai, openrouter, ollama)"),
    ):
        stock, stock_label = cpu_source(pair)
        streaming = [r for r in stock if r.cell[1]]
        if not streaming:
            continue
        busiest = max(streaming, key=lambda r: r.cell[0])
        out.append(
            Verdict(
                f"shipped config: >= {TARGET_STREAM_PER_CORE}x stock LiteLLM throughput per core, streaming, "
                f"on {route}; stock on the chat route",
                f"{stock_label} {cell_name(busiest.cell)}: {busiest.per_core:.2f}x per core",
                busiest.per_core >= TARGET_STREAM_PER_CORE,
                per_core_lines(stock, stock_label)
                + (per_core_lines(find(pair), "one after the other") if stock_label == "same window" else []),
            )
        )
    router, router_label = cpu_source("bundle/router")
    if router:
        out.append(
            Verdict(
                "where the bundle stands against claude-code-router (no target)",
                "; ".join(f"{cell_name(r.cell)}: {r.per_core:.2f}x per core" for r in router),
                None,
                per_core_lines(router, router_label)
                + [
                    f"one after the other {cell_name(r.cell)}: p50 {r.p50:.2f}x, req/s {r.rps:.2f}x"
                    for r in find("bundle/router")
                ],
            )
        )
    out += cpu_comparison(
        "bundle-native/no-plugins-native", "plugins on the native route (anthropic/ deployments; no target)"
    )
    scaling = find("bundle-2w/bundle")
    if scaling:
        out.append(
            Verdict(
                "two workers on this machine (no target)",
                "; ".join(f"{cell_name(r.cell)}: {r.rps:.2f}x req/s, {r.cpu:.2f}x CPU/req" for r in scaling),
                None,
            )
        )
    return out


def verdict_text(found: Sequence[Verdict]) -> str:
    lines = []
    for verdict in found:
        mark = {True: "met", False: "NOT met", None: "info"}[verdict.met]
        lines.append(f"[{mark:>7}] {verdict.name}: {verdict.measured}")
        lines.extend(f"            {line}" for line in verdict.detail)
    return "\n".join(lines)
