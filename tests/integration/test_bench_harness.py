"""The benchmark harness runs end to end (one short round, no Node router) and reports every
target and pair. It never judges a number: only failed runs fail it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import REPO_ROOT, base_environment

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run_bench(argv: list[str], summary: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Run a bench script with `--json summary` (bounded); its JSON summary and the process."""
    result = subprocess.run(
        [sys.executable, *argv, "--json", str(summary)],
        cwd=REPO_ROOT,
        env=base_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(summary.read_text()), result


def test_quick_benchmark_round_completes(tmp_path: Path) -> None:
    report, _ = run_bench(
        ["bench/run.py", "--quick", "--rounds", "1", "--no-router"], tmp_path / "bench.json"
    )
    assert report["ok"] is True and report["errors"] == 0 and not report["failed_targets"]
    assert {"stock", "no-plugins", "bundle"} <= set(report["targets"])
    assert {row["pair"] for row in report["ratios"]} >= {"bundle/stock"}
    assert all(cell["errors"] == 0 and cell["requests"] > 0 for cell in report["cells"])


def test_routing_cost_benchmark_completes_and_the_rules_really_ran(tmp_path: Path) -> None:
    report, result = run_bench(
        [
            "bench/routing_cost.py",
            "--quick",
            "--duration",
            "0.5",
            "--iterations",
            "2",
            "--repeats",
            "1",
            "--workdir",
            str(tmp_path / "runs"),
        ],
        tmp_path / "routing.json",
    )
    assert report["ok"] is True and report["errors"] == 0 and not report["failed_targets"]
    measured = report["in_process"]
    assert measured["matched_rule"] == "think" and measured["estimate_tokens"] > 10000  # the whole fixture
    assert measured["hook_with_rules_us"] > 0 and measured["token_estimate_us"] > 0
    assert measured["hook_with_rules_without_token_rule_us"] > 0
    assert report["routed_by_rule"] > 0  # the rules proxy chose the group by rule
    assert {row["pair"] for row in report["ratios"]} == {"rules/no-rules"}
    assert {cell["target"] for cell in report["cells"]} == {"rules", "no-rules"}
    assert all(cell["errors"] == 0 and cell["requests"] > 0 for cell in report["cells"])
    assert "of the proxy's" in result.stdout  # the share of the proxy's own CPU is printed


def test_replicas_benchmark_completes_and_checks_the_shared_cooldown(tmp_path: Path) -> None:
    report, result = run_bench(
        [
            "bench/replicas.py",
            "--quick",
            "--duration",
            "3",
            "--concurrency",
            "8",
            "--workdir",
            str(tmp_path / "runs"),
        ],
        tmp_path / "replicas.json",
    )
    assert report["ok"] is True and report["errors"] == 0 and report["requests_during_cooldown"] == 0
    assert [cell["replicas"] for cell in report["cells"]] == [1, 2]
    for cell in report["cells"]:
        assert cell["requests"] > 0 and cell["errors"] == 0 and cell["proxy_cpu_seconds"] > 0
        assert cell["upstream_429s"] >= 1  # the limited token really got its 429 ...
        assert cell["cooldown_seconds"] is not None  # ... and a replica wrote the cooldown to Redis
        assert cell["during_cooldown"] == 0
    assert [len(cell["per_replica_429s"]) for cell in report["cells"]] == [1, 2]
    assert set(report["ratios"]) == {"throughput", "cpu_per_request"}
    assert report["ratios"]["throughput"] is not None
    assert "requests during the cooldown" in result.stdout


def test_stream_curve_at_its_smallest_settings_reports_numbers_for_every_target(tmp_path: Path) -> None:
    report, result = run_bench(
        [
            "bench/stream_curve.py",
            "--kinds",
            "tool_use",
            "--lengths",
            "20",
            "--rounds",
            "1",
            "--duration",
            "0.2",
            "--targets",
            "no-plugins-native",
            "bundle-native",
            "--sizes",
            "1000",
            "10000",
            "--memory-targets",
            "bundle-native",
            "--workdir",
            str(tmp_path / "runs"),
        ],
        tmp_path / "curve.json",
    )
    assert report["ok"] is True and report["errors"] == 0 and not report["failed_targets"]
    curve = {(row["target"], row["kind"], row["chunks"]): row for row in report["curve"]}
    assert set(curve) == {("no-plugins-native", "tool_use", 20), ("bundle-native", "tool_use", 20)}
    for row in curve.values():
        assert row["requests"] > 0 and row["errors"] == 0
        assert row["cpu_ms_per_request"] > 0 and row["p50_ms"] > 0 and row["ttfb_p50_ms"] > 0
    (ratio,) = report["ratios"]
    assert ratio["pair"] == "bundle-native/no-plugins-native" and ratio["cpu_per_request"] > 0
    assert len(ratio["cpu_per_request_by_round"]) == 1 and isinstance(ratio["p50_delta_ms"], float)
    memory = {(row["target"], row["bytes"]): row for row in report["memory"]}
    assert set(memory) == {("bundle-native", 1000), ("bundle-native", 10000)}
    for row in memory.values():
        assert row["peak_rss_mb"] > 50 and row["ratio_to_smallest"] > 0 and row["requests"] > 0
    assert memory["bundle-native", 1000]["ratio_to_smallest"] == 1.0
    assert "CPU ms per request / p50 ms" in result.stdout and "peak RSS" in result.stdout
