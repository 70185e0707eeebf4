"""Run the real Claude Code CLI (`claude -p`) against a proxy, in a scratch HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness import REPO_ROOT

CLAUDE_TIMEOUT = 180


def claude_binary() -> str:
    candidates = [
        os.environ.get("CLAUDE_BIN", ""),
        str(REPO_ROOT / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"),
        shutil.which("claude") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "Claude Code CLI not found: run `bash scripts/test.sh` (it installs @anthropic-ai/claude-code into "
        ".cache/claude-code) or set CLAUDE_BIN"
    )


@dataclass
class ClaudeRun:
    returncode: int
    stdout: str
    stderr: str


def scratch_home(base: Path) -> Path:
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}), encoding="utf-8")
    return home


def run_claude(
    prompt: str,
    *,
    base_url: str,
    workdir: Path,
    env: dict[str, str],
    extra_args: tuple[str, ...] = (),
    timeout: float = CLAUDE_TIMEOUT,
) -> ClaudeRun:
    """`claude -p <prompt>` with a clean environment: only what the test passes, plus PATH."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = scratch_home(workdir)
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "API_TIMEOUT_MS": "120000",
        "CI": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        **env,
    }
    completed = subprocess.run(
        [claude_binary(), "-p", prompt, *extra_args],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return ClaudeRun(completed.returncode, completed.stdout, completed.stderr)
