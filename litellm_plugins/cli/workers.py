"""How many LiteLLM workers `litellm-plugins serve` starts (`--workers N|auto`, `PROXY_WORKERS`).

Settings: `--workers`, else `PROXY_WORKERS` (from the environment or `.env`), else `auto`; and the
bundle's Redis (`REDIS_URL`, or LiteLLM's `REDIS_HOST`; :mod:`litellm_plugins.core.redis_url`).

    litellm-plugins serve                    # auto: every usable core (at most 4) with REDIS_URL, else 1
    litellm-plugins serve --workers 2        # PROXY_WORKERS=2 in .env does the same
    litellm-plugins serve -- --num_workers 3 # LiteLLM's own option wins; --workers is then ignored

Each worker is its own process: without Redis each keeps its own pool cooldowns and sessions,
client limits and usage counts, so `auto` starts one worker unless Redis shares that state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from litellm_plugins.core.redis_url import redis_url_from

AUTO: Final = "auto"
MAX_AUTO_WORKERS: Final = 4  # each worker is a process of about 430 MB
LITELLM_OPTION: Final = "--num_workers"
NOT_SHARED: Final = "pool cooldowns and sessions, client limits (max_concurrent and budgets), usage counts"


class WorkersError(ValueError):
    """`--workers` / `PROXY_WORKERS` is neither `auto` nor a positive integer."""


class WorkerChoice(NamedTuple):
    count: int
    warning: str | None  # for stderr: several workers that share nothing
    idle_cores: str | None  # for the banner: `auto` left cores idle because there is no Redis


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's limit), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(option: str | None, environ: Mapping[str, str], cpus: int) -> WorkerChoice:
    """The worker count for `option` (`--workers`; None: PROXY_WORKERS, else auto) on `cpus` cores."""
    value = (option if option is not None else environ.get("PROXY_WORKERS") or AUTO).strip().lower()
    shared = redis_url_from(environ) is not None
    if value == AUTO:
        if shared:
            return WorkerChoice(max(1, min(cpus, MAX_AUTO_WORKERS)), None, None)
        idle = (
            f"this machine has {cpus} usable CPUs: set REDIS_URL to run a worker on each (up to "
            f"{MAX_AUTO_WORKERS}; `docker compose up -d` ships Redis), or choose with --workers N"
            if cpus > 1
            else None
        )
        return WorkerChoice(1, None, idle)
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise WorkersError(
            f"--workers (or PROXY_WORKERS) must be a positive integer or {AUTO}, got {value!r}: "
            f"for example --workers 2, or --workers {AUTO} (every usable core with REDIS_URL, else 1)"
        )
    if count > 1 and not shared:
        return WorkerChoice(
            count,
            f"{count} workers without REDIS_URL share nothing: each keeps its own {NOT_SHARED} "
            f"(max_concurrent is per worker). Set REDIS_URL (for example redis://127.0.0.1:6379) to "
            "share them, or run one worker",
            None,
        )
    return WorkerChoice(count, None, None)


def litellm_workers_option(litellm_args: Sequence[str]) -> str | None:
    """The value of `--num_workers` the user passed to `litellm` after `--`, if any ("" without one)."""
    for index, part in enumerate(litellm_args):
        if part == LITELLM_OPTION:
            return litellm_args[index + 1] if index + 1 < len(litellm_args) else ""
        if part.startswith(LITELLM_OPTION + "="):
            return part.split("=", 1)[1]
    return None
