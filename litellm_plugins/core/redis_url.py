"""The Redis every shared part of the bundle uses (pool cooldowns, usage, limits), from the environment.

Settings: `REDIS_URL`, or LiteLLM's own `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`:

    REDIS_URL=redis://127.0.0.1:6379/0
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote


def redis_url_from(environ: Mapping[str, str]) -> str | None:
    """The Redis URL the environment names, or None when there is none (each process keeps its own view)."""
    if environ.get("REDIS_URL"):
        return environ["REDIS_URL"]
    host = environ.get("REDIS_HOST")
    if not host:
        return None
    password = environ.get("REDIS_PASSWORD")
    auth = f":{quote(password, safe='')}@" if password else ""  # `@`, `/`, `:` would break the URL
    return f"redis://{auth}{host}:{environ.get('REDIS_PORT', '6379')}/0"
