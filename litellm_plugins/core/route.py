"""LiteLLM's route of an ASGI request (pure), for the layers that act on some routes only."""

from __future__ import annotations

from litellm_plugins.core.asgi import Scope


def request_route(scope: Scope) -> str:
    """LiteLLM's route: the path without the proxy's `root_path` (as `get_request_route`)."""
    path = str(scope.get("path") or "")
    root = str(scope.get("root_path") or "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path
