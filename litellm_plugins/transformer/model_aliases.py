"""Map the model ids Claude Code sends (`claude-sonnet-4-5`, `claude-haiku-4-5-20251001`, ...)
onto configured model groups with glob patterns, so that fallbacks declared against group names
fire. LiteLLM's own aliases and fallbacks match exact names only.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase


def resolve_model_group(
    requested: str, aliases: Sequence[tuple[str, str]], group_names: Collection[str]
) -> str | None:
    """The group `requested` should be served by, or None to leave it unchanged.

    An exact group name always wins over a pattern; patterns are tried in declaration order and
    matched case-insensitively (model ids are lowercase, users' patterns may not be).
    """
    if not requested or requested in group_names:
        return None
    lowered = requested.lower()
    for pattern, group in aliases:
        if fnmatchcase(lowered, pattern.lower()):
            return group if group != requested else None
    return None


def unmatched_patterns(aliases: Sequence[tuple[str, str]], candidates: Collection[str]) -> list[str]:
    """Patterns that match none of `candidates` (for the `check` command)."""
    return [p for p, _ in aliases if not any(fnmatchcase(c.lower(), p.lower()) for c in candidates)]
