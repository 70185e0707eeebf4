"""Only known `anthropic-beta` flags go to Anthropic-compatible APIs that are not Anthropic (pure).

LiteLLM forwards a client's `anthropic-beta` and `anthropic-version` headers to every
`anthropic/` deployment, including third-party bases (GLM, Kimi, DeepSeek, a local Ollama):
a client could send those providers whatever flag names it likes, and Claude Code's
`oauth-2025-04-20` (a statement about Claude credentials) reached them too. Before each attempt
on a base that is not Anthropic's own API (`litellm_plugins.anthropic_api_bases` and
api.anthropic.com keep everything), :func:`filter_anthropic_headers` keeps:

- `anthropic-beta`: only the flags in :data:`KNOWN_BETAS` (Anthropic's documented public betas,
  minus `oauth-*`), plus the operator's own list in `litellm_plugins.third_party_anthropic_betas`;
- `anthropic-version`: when it is a date (`2023-06-01`);
- no other `anthropic-*` header.

    litellm_plugins:
      third_party_anthropic_betas: [some-provider-flag-2026-01-01]   # optional, added to the list
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Final

KNOWN_BETAS: Final = frozenset(
    {
        "claude-code-20250219",
        "interleaved-thinking-2025-05-14",
        "fine-grained-tool-streaming-2025-05-14",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "model-context-window-exceeded-2025-08-26",
        "prompt-caching-2024-07-31",
        "extended-cache-ttl-2025-04-11",
        "token-efficient-tools-2025-02-19",
        "output-128k-2025-02-19",
        "max-tokens-3-5-sonnet-2024-07-15",
        "token-counting-2024-11-01",
        "message-batches-2024-09-24",
        "pdfs-2024-09-25",
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "code-execution-2025-05-22",
        "code-execution-2025-08-25",
        "web-fetch-2025-09-10",
        "mcp-client-2025-04-04",
        "files-api-2025-04-14",
        "skills-2025-10-02",
        "structured-outputs-2025-11-13",
        "effort-2025-11-24",
        "advanced-tool-use-2025-11-20",
        "tool-search-tool-2025-10-19",
    }
)
BETA_HEADER: Final = "anthropic-beta"
VERSION_HEADER: Final = "anthropic-version"
VERSION_SHAPE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEADER_CONTAINERS: Final = ("headers", "extra_headers")


def known_betas(value: Any, allowed: Collection[str]) -> str | None:
    """The flags of one `anthropic-beta` value that are in `allowed`, comma-joined, or None."""
    if not isinstance(value, str):
        return None
    kept = [flag.strip() for flag in value.split(",") if flag.strip() in allowed]
    return ",".join(dict.fromkeys(kept)) or None


def _filtered(headers: Any, allowed: Collection[str]) -> tuple[Any, int]:
    """(headers without unknown anthropic-* values, how many headers or flags were removed)."""
    if not isinstance(headers, Mapping):
        return headers, 0
    out: dict[Any, Any] = {}
    removed = 0
    for name, value in headers.items():
        lower = str(name).lower()
        if not lower.startswith("anthropic-"):
            out[name] = value
        elif lower == BETA_HEADER:
            kept = known_betas(value, allowed)
            before = len([flag for flag in str(value).split(",") if flag.strip()])
            removed += before - (len(kept.split(",")) if kept else 0)
            if kept:
                out[name] = kept
        elif lower == VERSION_HEADER and isinstance(value, str) and VERSION_SHAPE.match(value.strip()):
            out[name] = value
        else:
            removed += 1
    return (out if removed else headers), removed


def _scoped(entry: Any, allowed: Collection[str]) -> tuple[Any, int]:
    if not isinstance(entry, Mapping):
        return entry, 0
    headers, removed = _filtered(entry.get("extra_headers"), allowed)
    return ({**entry, "extra_headers": headers} if removed else entry), removed


def filter_anthropic_headers(
    request: Mapping[str, Any], extra_betas: Collection[str] = ()
) -> tuple[Mapping[str, Any], int]:
    """`request` with only known anthropic-* headers for a third-party base; (copy, count removed)."""
    allowed = KNOWN_BETAS | frozenset(extra_betas)
    out = dict(request)
    removed = 0
    for key in HEADER_CONTAINERS:
        headers, count = _filtered(out.get(key), allowed)
        if count:
            out[key] = headers
            removed += count
    scoped = out.get("provider_specific_header")
    if isinstance(scoped, list):
        entries = [_scoped(entry, allowed) for entry in scoped]
        count = sum(c for _, c in entries)
        if count:
            out["provider_specific_header"] = [entry for entry, _ in entries]
            removed += count
    elif isinstance(scoped, Mapping):
        entry, count = _scoped(scoped, allowed)
        if count:
            out["provider_specific_header"] = entry
            removed += count
    return (out if removed else request), removed


def extra_betas_setting(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """`litellm_plugins.third_party_anthropic_betas`, validated (raises ValueError with a fix)."""
    value = raw.get("third_party_anthropic_betas") or ()
    if isinstance(value, str) or not all(isinstance(flag, str) and flag.strip() for flag in value):
        raise ValueError(
            "litellm_plugins.third_party_anthropic_betas must be a list of beta flag names, "
            "for example [interleaved-thinking-2025-05-14]"
        )
    return tuple(flag.strip() for flag in value)
