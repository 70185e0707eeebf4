"""How much one `TokenPool.select` costs as the pool grows from 10 to 100,000 tokens.

Run it from the repository root:

    python bench/token_selection.py

Each pool has 10% of its tokens cooling (a fixed clock, so they stay cooling for the run) and is
asked for tokens the way the rotator asks: half the selects come from a returning session (a
sticky hit), half from a new session (a pick from the ring or the sequential heap, then
remembered). The table shows nanoseconds per select for both strategies and, at the bottom, the
ratio largest pool / smallest pool: about 1 means the cost does not grow with the pool.

The numbers are printed, never judged: the script exits 0 unless something raises.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from litellm_plugins.rotator.token_pool import STRATEGIES, TokenPool

SIZES: Final = (10, 100, 1_000, 10_000, 100_000)
ITERATIONS: Final = 20_000
REPEATS: Final = 3
COOLING_FRACTION: Final = 0.10
NOW: Final = 1_700_000_000.0


@dataclass(frozen=True)
class Row:
    size: int
    nanoseconds: dict[str, float]  # per strategy: the best measurement, in ns per select


def build_pool(size: int, strategy: str) -> TokenPool:
    tokens = [f"sk-ant-oat01-bench-{index:07d}" for index in range(size)]
    pool = TokenPool("bench", tokens, strategy, clock=lambda: NOW, max_sessions=10_000)
    # The first tenth cools: the sequential strategy has to get past them, the ring loses them.
    for fp in pool.fingerprints[: int(size * COOLING_FRACTION)]:
        pool.cool(fp, 3600, "rate_limited")
    return pool


def sessions_for(iterations: int) -> list[str]:
    """Even steps: one of 64 returning sessions; odd steps: a session never seen before."""
    return [f"returning-{step % 64}" if step % 2 == 0 else f"new-{step}" for step in range(iterations)]


def nanoseconds_per_select(size: int, strategy: str, iterations: int) -> float:
    sessions = sessions_for(iterations)
    pool = build_pool(size, strategy)
    select = pool.select
    gc.collect()  # start every measurement with the same garbage to collect
    start = time.perf_counter_ns()
    for session in sessions:
        if select(session) is None:
            raise RuntimeError(f"pool of {size} ({strategy}) returned no token with 90% healthy")
    return (time.perf_counter_ns() - start) / iterations


def run(sizes: Sequence[int] = SIZES, iterations: int = ITERATIONS, repeats: int = REPEATS) -> list[Row]:
    """The best of `repeats` measurements per cell; rounds interleave sizes so drift hits them all."""
    strategies = sorted(STRATEGIES)
    for strategy in strategies:  # warm up the interpreter and the CPU before the first timed cell
        nanoseconds_per_select(min(sizes), strategy, iterations)
    best = {(size, strategy): float("inf") for size in sizes for strategy in strategies}
    for _ in range(repeats):
        for (size, strategy), so_far in best.items():
            best[size, strategy] = min(so_far, nanoseconds_per_select(size, strategy, iterations))
    return [Row(size, {strategy: best[size, strategy] for strategy in strategies}) for size in sizes]


def format_table(rows: Sequence[Row]) -> str:
    strategies = sorted(STRATEGIES)
    lines = [f"{'tokens':>10}" + "".join(f"{name + ' ns/select':>24}" for name in strategies)]
    for row in rows:
        lines.append(f"{row.size:>10,}" + "".join(f"{row.nanoseconds[name]:>24,.0f}" for name in strategies))
    if len(rows) > 1:
        smallest, largest = rows[0], rows[-1]
        label = f"{largest.size:,}/{smallest.size:,}"
        lines.append(
            f"{label:>10}"
            + "".join(
                f"{largest.nanoseconds[name] / smallest.nanoseconds[name]:>23.2f}x" for name in strategies
            )
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="pool sizes, smallest first"
    )
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="selects per measurement")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="measurements per size; the best counts")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(sorted(args.sizes), args.iterations, args.repeats)
    sys.stdout.write(format_table(rows) + "\n")
    sys.stdout.write(
        f"({args.iterations:,} selects x {args.repeats} per cell, half new sessions, "
        f"{COOLING_FRACTION:.0%} of tokens cooling; {time.perf_counter() - started:.1f}s)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
