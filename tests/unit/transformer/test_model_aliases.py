"""Unit tests for litellm_plugins.transformer.model_aliases: glob patterns from Claude model ids to groups."""

from __future__ import annotations

import pytest

from litellm_plugins.transformer.model_aliases import resolve_model_group, unmatched_patterns

ALIASES = (("claude-*haiku*", "fast"), ("claude-*", "default"))
GROUPS = frozenset({"fast", "default", "reasoner", "claude-opus-4-1"})


@pytest.mark.parametrize(
    ("requested", "group"),
    [
        ("claude-haiku-4-5-20251001", "fast"),
        ("claude-3-5-haiku-latest", "fast"),
        ("claude-sonnet-4-5", "default"),
        ("claude-sonnet-5", "default"),
        ("claude-opus-4-5-20251101", "default"),
        ("CLAUDE-Haiku-4-5", "fast"),
        ("gpt-4o", None),
        ("", None),
        # Exact group names always win over a pattern.
        ("fast", None),
        ("claude-opus-4-1", None),
    ],
)
def test_resolve_model_group(requested: str, group: str | None) -> None:
    assert resolve_model_group(requested, ALIASES, GROUPS) == group


def test_patterns_are_tried_in_declaration_order() -> None:
    reversed_aliases = tuple(reversed(ALIASES))
    assert resolve_model_group("claude-haiku-4-5", reversed_aliases, GROUPS) == "default"


def test_pattern_case_does_not_matter() -> None:
    assert resolve_model_group("claude-haiku-4-5", (("Claude-*HAIKU*", "fast"),), GROUPS) == "fast"


def test_match_onto_itself_is_no_change() -> None:
    assert resolve_model_group("claude-x", (("claude-*", "claude-x"),), frozenset()) is None


def test_first_match_wins_even_if_it_is_a_no_op() -> None:
    aliases = (("claude-x", "claude-x"), ("claude-*", "default"))
    assert resolve_model_group("claude-x", aliases, frozenset()) is None


def test_group_need_not_exist_to_be_returned() -> None:
    # The `check` command reports unknown groups; resolution itself does not filter them.
    assert resolve_model_group("claude-sonnet-4-5", (("claude-*", "missing"),), frozenset()) == "missing"


@pytest.mark.parametrize(
    ("pattern", "requested", "matches"),
    [
        ("claude-?-haiku", "claude-3-haiku", True),
        ("claude-[34]-*", "claude-4-opus", True),
        ("claude-[34]-*", "claude-5-opus", False),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", False),
        ("*sonnet*", "claude-sonnet-4-5", True),
    ],
)
def test_glob_syntax(pattern: str, requested: str, matches: bool) -> None:
    assert (resolve_model_group(requested, ((pattern, "g"),), frozenset()) == "g") is matches


def test_no_aliases_resolves_nothing() -> None:
    assert resolve_model_group("claude-sonnet-4-5", (), GROUPS) is None


def test_unmatched_patterns() -> None:
    aliases = (("claude-*haiku*", "fast"), ("claude-*", "default"), ("gpt-*", "openai"), ("O3*", "reasoner"))
    candidates = ["claude-sonnet-4-5", "claude-haiku-4-5", "o3-mini"]
    assert unmatched_patterns(aliases, candidates) == ["gpt-*"]
    assert unmatched_patterns(aliases, []) == ["claude-*haiku*", "claude-*", "gpt-*", "O3*"]
    assert unmatched_patterns((), candidates) == []
