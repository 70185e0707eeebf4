"""LiteLLM's whole route table, read from the proxy app itself (not a hand-written list).

`python -m tests.reliability.route_table` imports `litellm.proxy.proxy_server.app` the way the
proxy does, registers LiteLLM's lazily loaded feature routers (1.108+ loads them on the first
matching request; older versions include them eagerly), walks every route and prints one JSON
row per route: its kind (`http` or `websocket`), path template and methods. The route sweep runs
it in a subprocess, next to the proxy under test, so a route a newer LiteLLM adds is swept too.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Final

PARAMETER: Final = re.compile(r"\{(?P<name>[^}:]+)(?::(?P<kind>[^}]+))?\}")
# Values for path parameters: a provider and a model that exist, a pass-through endpoint that
# a provider would serve, anything for the rest.
SAMPLES: Final = {"provider": "openai", "model": "gpt-4o", "model_name": "gpt-4o"}
PATH_SAMPLE: Final = "v1/chat/completions"


def _walk(routes: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI's lazily flattened included router
            yield from _walk(route.effective_candidates())
            yield from _walk(route.effective_low_priority_routes())
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        kind = "websocket" if "WebSocket" in type(route).__name__ else "http"
        if type(route).__name__ == "Mount":
            kind = "mount"
        methods = sorted(getattr(route, "methods", None) or ())
        yield {"kind": kind, "path": path, "methods": methods}


def route_rows() -> list[dict[str, Any]]:
    from litellm.proxy.proxy_server import app

    try:
        from litellm.proxy._lazy_features import register_all_features
    except ImportError:  # a LiteLLM without lazy routes: every router is already included
        pass
    else:
        register_all_features(app)
    unique: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    for row in _walk(app.routes):
        unique.setdefault((row["kind"], row["path"], tuple(row["methods"])), row)
    return list(unique.values())


def sample_path(template: str) -> str:
    """The template with sample values for its parameters (`{x}`, `{x:path}`)."""

    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        if name in SAMPLES:
            return SAMPLES[name]
        return PATH_SAMPLE if match.group("kind") == "path" else "sample"

    return PARAMETER.sub(value, template)


def main() -> None:
    json.dump(route_rows(), sys.stdout)


if __name__ == "__main__":
    main()
