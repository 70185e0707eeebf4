"""The Claude Code provider's settings, read once from the environment (pure).

    CLAUDE_CODE_PROVIDER_MAX_PROCESSES=4    Claude Code processes running at once (per proxy worker)
    CLAUDE_CODE_PROVIDER_MAX_QUEUE=16       requests waiting for a free process; beyond: 429
    CLAUDE_CODE_PROVIDER_QUEUE_SECONDS=60   how long a request waits for a free process; then: 503
    CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS=300  one request's whole run; then the process is killed
    CLAUDE_CODE_PROVIDER_CLI=/path/to/claude  the CLI to run (default: the one claude-agent-sdk bundles)

The credentials come from the rotator's Claude pool (`CLAUDE_OAUTH_TOKENS`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from litellm_plugins.core.settings import SettingsError


@dataclass(frozen=True)
class ClaudeCodeSettings:
    max_processes: int = 4
    max_queue: int = 16
    queue_seconds: float = 60.0
    timeout_seconds: float = 300.0
    cli_path: str | None = None


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float, integer: bool) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        kind = "a whole number" if integer else "a number of seconds"
        raise SettingsError(f"{name} must be {kind} >= {minimum:g}, got {raw!r}")
    return value


def parse_claude_code_settings(environ: Mapping[str, str] | None = None) -> ClaudeCodeSettings:
    environ = os.environ if environ is None else environ
    return ClaudeCodeSettings(
        max_processes=int(_number(environ, "CLAUDE_CODE_PROVIDER_MAX_PROCESSES", 4, 1, True)),
        max_queue=int(_number(environ, "CLAUDE_CODE_PROVIDER_MAX_QUEUE", 16, 0, True)),
        queue_seconds=_number(environ, "CLAUDE_CODE_PROVIDER_QUEUE_SECONDS", 60.0, 0.0, False),
        timeout_seconds=_number(environ, "CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS", 300.0, 1.0, False),
        cli_path=(environ.get("CLAUDE_CODE_PROVIDER_CLI") or "").strip() or None,
    )
