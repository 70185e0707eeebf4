"""The thinking stripper benchmark runs and prints its table (tiny sizes; no timing is judged)."""

from __future__ import annotations

import json

import pytest

from bench import thinking_stripper
from litellm_plugins.thinking.stream import AnthropicStreamRewriter


def test_the_generated_stream_is_the_anthropic_event_sequence_at_about_the_size_asked() -> None:
    stream = b"".join(thinking_stripper.chunked(thinking_stripper.frames(50_000)))
    assert 50_000 <= len(stream) < 52_000
    kinds = [json.loads(frame.split(b"data: ", 1)[1])["type"] for frame in stream.split(b"\n\n") if frame]
    assert kinds[:3] == ["message_start", "ping", "content_block_start"] and kinds[-2:] == [
        "message_delta",
        "message_stop",
    ]
    chunks = list(thinking_stripper.chunked(thinking_stripper.frames(50_000)))
    assert {len(chunk) for chunk in chunks[:-1]} == {thinking_stripper.CHUNK_BYTES}
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=False)
    stripped = b"".join(rewriter.feed(chunk) for chunk in chunks) + rewriter.finish()
    assert b"thinking" not in stripped and rewriter.blocks_dropped == 1


def test_run_measures_every_size_and_mode() -> None:
    rows = thinking_stripper.run(sizes=(1_000, 8_000), repeats=1)
    assert [row.size for row in rows] == [1_000, 8_000]
    for row in rows:
        assert set(row.nanoseconds) == set(row.peak) == set(thinking_stripper.MODES)
        assert all(value > 0 for value in row.nanoseconds.values()) and all(
            value > 0 for value in row.peak.values()
        )
        assert row.frames == thinking_stripper.frame_count(row.size)


def test_main_prints_a_row_per_size_and_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert thinking_stripper.main(["--sizes", "4000", "1000", "--repeats", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "strip ns/frame" in lines[0] and "mark peak KiB" in lines[0]
    assert [line.split()[0] for line in lines[1:3]] == ["1", "4"]
    assert lines[3].split()[0] == "4KB/1KB" and lines[3].count("x") == 8
    assert lines[4].startswith("(1 timed runs per cell")


def test_each_mode_is_the_stream_layers_pass_it_names() -> None:
    whole = b"".join(thinking_stripper.frames(4_000))
    outputs = {}
    for mode in ("guard", "strip", "mark"):
        stream = thinking_stripper._stream_for(mode)
        assert stream is not None
        outputs[mode] = (
            b"".join(stream.feed(chunk) for chunk in thinking_stripper.chunked([whole])) + stream.finish()
        )
    assert outputs["guard"] == whole  # a valid stream passes unchanged
    assert b"thinking_delta" not in outputs["strip"] and b"text_delta" in outputs["strip"]
    assert outputs["mark"] != whole and b"thinking_delta" in outputs["mark"]  # signatures marked
    assert thinking_stripper._stream_for("stock") is None
