"""What the stream layer's pass costs per SSE frame, and its peak memory, from 1 KB to 10 MB streams.

Run it from the repository root:

    python bench/thinking_stripper.py

Each stream is the Anthropic Messages event sequence Claude Code receives: `message_start`, a
`ping`, a thinking block (a fifth of the bytes, 48-character deltas, a `signature_delta`), a text
block of 48-character deltas, `message_delta`, `message_stop`, cut into 1,400-byte network chunks
that split frames anywhere. Four ways through the stream layer's pass
(`litellm_plugins.streams.anthropic_stream.AnthropicStream`), in the same run:

- stock: the chunks iterated and nothing else (what LiteLLM alone does with them);
- guard: the upstream guard's monitor only (a deployment on Anthropic's API: nothing to rewrite);
- strip: monitor and stripper for a group in `strip_response_groups` (thinking removed, blocks
  renumbered);
- mark:  monitor and stripper for a non-Anthropic deployment (foreign signatures marked).

The table shows nanoseconds per frame (best of the repeats) with the ratio to stock, then the
peak memory Python allocated while the stripper consumed a stream generated on the fly
(tracemalloc). The last row divides the largest stream by the smallest: about 1 for the per-frame
cost and the peak means neither grows with the response. The numbers are printed, never judged:
the script exits 0 unless something raises.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from litellm_plugins.streams.anthropic_stream import AnthropicStream
from litellm_plugins.thinking.stream import AnthropicStreamRewriter

SIZES: Final = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
REPEATS: Final = 3
CHUNK_BYTES: Final = 1400
DELTA_CHARS: Final = 48
THINKING_SHARE: Final = 0.2
MODES: Final = ("stock", "guard", "strip", "mark")


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def frames(total_bytes: int) -> Iterator[bytes]:
    """The frames of one response of about `total_bytes`, made one at a time."""
    text = ("The quick brown fox jumps over the lazy dog. " * 2)[:DELTA_CHARS]
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
    }
    yield _event(
        "message_start", {"type": "message_start", "message": {**message, "usage": {"input_tokens": 10}}}
    )
    yield _event("ping", {"type": "ping"})
    sent = 0
    for index, (kind, share) in enumerate((("thinking", THINKING_SHARE), ("text", 1 - THINKING_SHARE))):
        opening = (
            {"type": "thinking", "thinking": "", "signature": ""}
            if kind == "thinking"
            else {"type": "text", "text": ""}
        )
        yield _event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
        )
        budget = max(1, int(total_bytes * share))
        used = 0
        delta = {"type": f"{kind}_delta", kind: text}
        frame = _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        while used < budget:
            yield frame
            used += len(frame)
        sent += used
        if kind == "thinking":
            signature = {"type": "signature_delta", "signature": "EqQBCgIYAhIM" + "x" * 80}
            yield _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": signature}
            )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": sent // 4},
        },
    )
    yield _event("message_stop", {"type": "message_stop"})


def chunked(source: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Network-sized chunks that cut frames anywhere; holds at most one chunk plus one frame."""
    pending = bytearray()
    for frame in source:
        pending += frame
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def frame_count(total_bytes: int) -> int:
    return sum(1 for _ in frames(total_bytes))


def _stream_for(mode: str) -> AnthropicStream | None:
    """What the stream layer runs for a `/v1/messages` reply: None for LiteLLM alone (stock)."""
    if mode == "stock":
        return None
    if mode == "guard":
        return AnthropicStream()  # the upstream guard's monitor only (Anthropic's API serving)
    return AnthropicStream(AnthropicStreamRewriter(strip_thinking=mode == "strip", mark_signatures=True))


def _consume(mode: str, chunks: Iterable[bytes]) -> int:
    """Feed the stream through the layer's pass as the proxy's response would; nanoseconds taken."""
    stream = _stream_for(mode)
    start = time.perf_counter_ns()
    if stream is None:
        for _ in chunks:
            pass
    else:
        for chunk in chunks:
            stream.feed(chunk)
        stream.finish()
    return time.perf_counter_ns() - start


def nanoseconds_per_frame(mode: str, chunks: Sequence[bytes], count: int) -> float:
    gc.collect()
    return _consume(mode, chunks) / count


def peak_bytes(mode: str, total_bytes: int) -> int:
    """Peak Python allocation while `mode` consumes a stream generated on the fly."""
    gc.collect()
    tracemalloc.start()
    try:
        _consume(mode, chunked(frames(total_bytes)))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass(frozen=True)
class Row:
    size: int
    frames: int
    nanoseconds: dict[str, float]
    peak: dict[str, int]


def run(sizes: Sequence[int] = SIZES, repeats: int = REPEATS) -> list[Row]:
    # LiteLLM's import leaves millions of objects for every collection to walk (a quarter of a
    # second each): park them where the collector does not look while measuring.
    gc.collect()
    gc.freeze()
    try:
        warm = list(chunked(frames(min(sizes))))
        for mode in MODES:
            nanoseconds_per_frame(mode, warm, frame_count(min(sizes)))
        return [_measure(size, repeats) for size in sizes]
    finally:
        gc.unfreeze()


def _measure(size: int, repeats: int) -> Row:
    chunks = list(chunked(frames(size)))
    count = frame_count(size)
    best = {mode: float("inf") for mode in MODES}
    for _ in range(repeats):  # interleave modes so drift hits them all
        for mode in MODES:
            best[mode] = min(best[mode], nanoseconds_per_frame(mode, chunks, count))
    del chunks
    return Row(size, count, best, {mode: peak_bytes(mode, size) for mode in MODES})


def _size_label(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def format_table(rows: Sequence[Row]) -> str:
    header = f"{'response':>10}{'frames':>10}" + "".join(f"{mode + ' ns/frame':>18}" for mode in MODES)
    header += "".join(f"{mode + ' peak KiB':>16}" for mode in MODES)
    lines = [header]
    for row in rows:
        cells = [f"{_size_label(row.size):>10}", f"{row.frames:>10,}"]
        for mode in MODES:
            ratio = row.nanoseconds[mode] / row.nanoseconds["stock"]
            cells.append(
                f"{row.nanoseconds[mode]:>10,.0f} ({ratio:>4.1f}x)"
                if mode != "stock"
                else f"{row.nanoseconds[mode]:>18,.0f}"
            )
        cells += [f"{row.peak[mode] / 1024:>16,.1f}" for mode in MODES]
        lines.append("".join(cells))
    if len(rows) > 1:
        smallest, largest = rows[0], rows[-1]
        label = f"{_size_label(largest.size)}/{_size_label(smallest.size)}".replace(" ", "")
        cells = [f"{label:>20}"]
        cells += [f"{largest.nanoseconds[mode] / smallest.nanoseconds[mode]:>17.2f}x" for mode in MODES]
        cells += [f"{largest.peak[mode] / max(1, smallest.peak[mode]):>15.2f}x" for mode in MODES]
        lines.append("".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="response sizes in bytes")
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="timed runs per size and mode; the best counts"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(sorted(args.sizes), args.repeats)
    sys.stdout.write(format_table(rows) + "\n")
    sys.stdout.write(
        f"({args.repeats} timed runs per cell, {CHUNK_BYTES}-byte chunks, {DELTA_CHARS}-character deltas, "
        f"{THINKING_SHARE:.0%} thinking; {time.perf_counter() - started:.1f}s)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
