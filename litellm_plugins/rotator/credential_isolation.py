"""Keep Claude credentials where they belong (pure).

LiteLLM forwards a client's OAuth `Authorization` to every `anthropic/` deployment, including
third-party Anthropic-compatible bases (GLM, Kimi), and header-forwarding settings can copy a
client's `x-api-key` too. Before each attempt the rotator removes every client credential from
the request unless the deployment is Anthropic's own API and the request is in passthrough
mode. The deployment's own key (its `api_key`) is what the provider gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

CREDENTIAL_HEADERS: Final = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})
HEADER_CONTAINERS: Final = ("headers", "extra_headers")


def _without_credentials(headers: Any) -> tuple[Any, int]:
    if not isinstance(headers, Mapping):
        return headers, 0
    kept = {name: value for name, value in headers.items() if str(name).lower() not in CREDENTIAL_HEADERS}
    removed = len(headers) - len(kept)
    return (kept if removed else headers), removed


def _scoped(entry: Any) -> tuple[Any, int]:
    if not isinstance(entry, Mapping):
        return entry, 0
    headers, removed = _without_credentials(entry.get("extra_headers"))
    if not removed:
        return entry, 0
    return {**entry, "extra_headers": headers}, removed


def strip_client_credentials(request: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of `request` with client credential headers removed; returns (copy, count removed)."""
    out = dict(request)
    removed = 0
    for key in HEADER_CONTAINERS:
        headers, count = _without_credentials(out.get(key))
        if count:
            out[key] = headers
            removed += count
    scoped = out.get("provider_specific_header")
    if isinstance(scoped, list):
        entries = [_scoped(entry) for entry in scoped]
        count = sum(c for _, c in entries)
        if count:
            out["provider_specific_header"] = [entry for entry, _ in entries]
            removed += count
    elif isinstance(scoped, Mapping):
        entry, count = _scoped(scoped)
        if count:
            out["provider_specific_header"] = entry
            removed += count
    return out, removed
