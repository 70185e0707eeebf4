"""Driving the load generator from the benchmark scripts (`run.py`, `settings_sweep.py`,
`hotspots.py`): the process, the commands it takes, the request bodies, progress lines."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import targets, workload
from bench.report import Cell


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class LoadGenerator:
    """`bench/load.py --serve` in its own process; one JSON line per measurement."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve().parent / "load.py"), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def measure(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"the load generator exited with {self.process.poll()}", "errors": 1, "count": 0}
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def command_for(
    target: targets.Target,
    cell: Cell,
    duration: float,
    bodies: dict[tuple[str, bool], str],
    warmup: int | None = None,
) -> dict[str, Any]:
    concurrency, stream = cell
    headers = (
        dict(target.headers)
        if target.dialect == "openai"
        else workload.claude_code_headers() | target.headers
    )
    return {
        "url": target.url,
        "headers": headers,
        "body": bodies[target.dialect, stream],
        "concurrency": concurrency,
        "duration": duration,
        "stream": stream,
        "expect": target.dialect,
        "pids": target.pids,
        "warmup": concurrency if warmup is None else warmup,
        "timeout": 60,
    }


def request_bodies() -> dict[tuple[str, bool], str]:
    bodies = {}
    for stream in (False, True):
        request = workload.claude_code_request(stream=stream)
        bodies["anthropic", stream] = json.dumps(request)
        bodies["openai", stream] = json.dumps(workload.openai_equivalent(request))
    return bodies


def machine_header(info: dict[str, Any]) -> str:
    """The first line of a report: the machine, the versions and the load around the run."""
    return (
        f"{info['date']}: {info['cpus']} cores ({info['cpu_model'] or 'unknown CPU'}), Python "
        f"{info['python']}, LiteLLM {info['litellm']}, {info['router']}; load average "
        f"{info['load_average_at_start']} -> {info['load_average_at_end']}"
    )


def target_problems(outcome: dict[str, Any]) -> str:
    """The targets that failed or were skipped, one line each (empty when none)."""
    lines = [f"FAILED target {name}: {why}" for name, why in outcome["failed_targets"].items()]
    lines += [f"skipped target {name}: {why}" for name, why in outcome["skipped_targets"].items()]
    return "".join(f"\n{line}\n" for line in lines)


def write_public_json(path: Path, outcome: dict[str, Any]) -> None:
    """`outcome` without its `_private` keys (objects for the printed report), as JSON."""
    public = {key: value for key, value in outcome.items() if not key.startswith("_")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")
