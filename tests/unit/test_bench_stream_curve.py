"""The stream-length and memory curves' pure parts: the requests name their reply, ratios are
taken round by round, the slope per delta, and the tables (no timing is judged)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import stream_curve
from bench.instant_upstream import ReplySpec, parse_marker
from bench.report import Round
from bench.stream_curve import CurveRow, MemoryRow


def measured(cpu_seconds: float, count: int, latency: float) -> Round:
    return Round(
        count=count,
        errors=0,
        elapsed=1.0,
        latencies=[latency] * count,
        first_bytes=[latency / 2] * count,
        cpu_seconds=cpu_seconds,
        peak_rss_mb=400.0,
        load_cpu_seconds=0.1,
    )


def test_each_request_names_its_reply_in_both_dialects() -> None:
    for spec in (ReplySpec("thinking", 200), ReplySpec("text", size=1_000_000)):
        bodies = stream_curve.request_bodies(spec)
        assert set(bodies) == {("anthropic", True), ("openai", True)}
        for body in bodies.values():
            assert json.loads(body)["stream"] is True
            assert parse_marker(body.encode()) == spec


def test_ratios_are_taken_round_by_round_and_failed_rounds_left_out() -> None:
    bundle = [measured(1.02, 10, 0.0500), measured(0.99, 10, 0.0490), measured(1.0, 0, 0.0)]
    plain = [measured(1.00, 10, 0.0495), measured(1.00, 10, 0.0500), measured(1.0, 10, 0.05)]
    ratio = stream_curve.curve_ratio("bundle", "no-plugins", ("text", 20), bundle, plain)
    assert ratio is not None
    assert ratio.cpu_by_round == pytest.approx([1.02, 0.99])  # the third round failed on one side
    assert ratio.p50_delta_ms_by_round == pytest.approx([0.5, -1.0])
    assert ratio.cpu == pytest.approx(1.005) and ratio.p50_delta_ms == pytest.approx(-0.25)
    row = ratio.as_json()
    assert row["pair"] == "bundle/no-plugins" and row["kind"] == "text" and row["chunks"] == 20
    assert stream_curve.curve_ratio("a", "b", ("text", 20), [measured(1, 0, 0)], [measured(1, 1, 1)]) is None


def curve_rows() -> list[CurveRow]:
    rows = []
    for target, base, per_delta in (("no-plugins", 30.0, 0.5), ("bundle", 31.0, 0.6)):
        for chunks in (20, 200, 2000):
            cpu = base + per_delta * chunks
            rows.append(CurveRow(target, "text", chunks, 5, 0, cpu * 1.1, cpu * 0.3, cpu, [cpu]))
    return rows


def test_the_slope_is_the_cpu_of_one_more_delta() -> None:
    slopes = stream_curve.per_delta_us(curve_rows())
    assert slopes == {("no-plugins", "text"): pytest.approx(500.0), ("bundle", "text"): pytest.approx(600.0)}
    one_point = [CurveRow("stock", "text", 20, 1, 0, 1.0, 1.0, 1.0)]
    assert stream_curve.per_delta_us(one_point) == {}


def test_the_curve_table_has_a_line_per_point_and_the_slopes() -> None:
    table = stream_curve.curve_table(curve_rows(), ["stock", "no-plugins", "bundle"]).splitlines()
    assert table[1].split() == ["kind", "deltas", "no-plugins", "bundle"]  # absent targets left out
    assert table[3].split() == ["text", "20", "40.0", "/", "44.0", "43.0", "/", "47.3"]
    assert table[5].split() == ["text", "2,000", "1,030.0", "/", "1,133.0", "1,231.0", "/", "1,354.1"]
    assert table[-1].split() == ["text", "500", "600"]


def test_the_ratio_table_shows_each_round() -> None:
    ratio = stream_curve.CurveRatio("bundle", "no-plugins", "tool_use", 200, [1.01, 0.97], [0.4, -0.2])
    lines = stream_curve.ratio_table([ratio]).splitlines()
    assert lines[2].split()[:5] == ["bundle/no-plugins", "tool_use", "200", "0.990", "0.10"]
    assert lines[2].endswith("1.010 +0.40, 0.970 -0.20")


def test_the_memory_table_divides_by_the_smallest_reply() -> None:
    rows = [
        MemoryRow("bundle-native", size, peak, peak - 1, True, 2, 0)
        for size, peak in ((1_000, 400.0), (1_000_000, 420.0), (10_000_000, 480.0))
    ]
    assert stream_curve.memory_baselines(rows) == {"bundle-native": 400.0}
    lines = stream_curve.memory_table(rows).splitlines()
    assert [line.split()[:2] for line in lines[3:]] == [["1", "KB"], ["1", "MB"], ["10", "MB"]]
    assert "480.0 (1.200x; 479.0)" in lines[-1]
    assert rows[2].as_json(400.0)["ratio_to_smallest"] == 1.2
    unreset = [MemoryRow("stock-native", 1_000, 400.0, 400.0, False, 1, 0)]
    assert "could not be reset" in stream_curve.memory_table(unreset)
    failed = [*rows, MemoryRow("bundle", 1_000, 0.0, math.nan, False, 0, 1, "HTTP 500")]
    table = stream_curve.memory_table(failed)
    assert "failed" in table.splitlines()[3] and "could not be reset" not in table


def test_quick_and_default_settings() -> None:
    quick = stream_curve.parse_args(["--quick", "--no-router"])
    assert quick.rounds == 1 and quick.duration == 0.5 and "router" not in quick.targets
    assert quick.sizes == list(stream_curve.QUICK_SIZES)
    default = stream_curve.parse_args([])
    assert default.rounds == 2 and default.sizes == list(stream_curve.SIZES)
    assert default.targets == list(stream_curve.CURVE_TARGETS)
    assert default.memory_targets == list(stream_curve.MEMORY_TARGETS)
    none = stream_curve.parse_args(["--sizes", "--no-curve"])
    assert none.sizes == [] and none.targets == [] and none.kinds == []
    assert stream_curve.size_label(10_000_000) == "10 MB" and stream_curve.size_label(1_000) == "1 KB"
    assert math.isnan(stream_curve._median([]))


def test_the_report_prints_the_tables_and_the_targets_that_failed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    memory = [MemoryRow("bundle-native", 1_000, 400.0, 400.0, True, 1, 0)]
    ratio = stream_curve.CurveRatio("bundle", "no-plugins", "text", 20, [1.0], [0.1])
    outcome = {
        "machine": {
            "date": "2026-12-01",
            "cpus": 2,
            "cpu_model": "",
            "python": "3.11.7",
            "litellm": "1.108.7",
            "router": "not requested",
            "load_average_at_start": [1.0],
            "load_average_at_end": [2.0],
        },
        "settings": {"request": "r", "rounds": 1, "cell_seconds": 0.5, "min_requests": 1, "piece_bytes": 1000}
        | {"memory_requests": 1},
        "failed_targets": {"stock": "did not start"},
        "skipped_targets": {"router": "Node.js/npm not found on PATH"},
        "ok": False,
        "errors": 0,
        "seconds": 1.0,
        "logs": "/tmp/x",
        "curve": [],
        "_rows": curve_rows(),
        "_ratios": [ratio],
        "_memory": memory,
        "_names": ["no-plugins", "bundle"],
    }
    stream_curve.print_report(outcome)
    out = capsys.readouterr().out
    assert "2026-12-01: 2 cores (unknown CPU), Python 3.11.7, LiteLLM 1.108.7" in out
    assert "CPU ms per request / p50 ms" in out and "bundle/no-plugins" in out and "peak RSS" in out
    assert "FAILED target stock: did not start" in out and "skipped target router: Node.js" in out
    path = tmp_path / "out" / "curve.json"
    stream_curve.write_public_json(path, outcome)
    written = json.loads(path.read_text())
    assert "curve" in written and not any(key.startswith("_") for key in written)
