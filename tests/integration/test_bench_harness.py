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


def test_quick_benchmark_round_completes(tmp_path: Path) -> None:
    summary = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--rounds", "1", "--no-router", "--json", str(summary)],
        cwd=REPO_ROOT,
        env=base_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(summary.read_text())
    assert report["ok"] is True and report["errors"] == 0 and not report["failed_targets"]
    assert {"stock", "no-plugins", "bundle"} <= set(report["targets"])
    assert {row["pair"] for row in report["ratios"]} >= {"bundle/stock"}
    assert all(cell["errors"] == 0 and cell["requests"] > 0 for cell in report["cells"])
