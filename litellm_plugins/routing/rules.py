"""Which model group serves a request: the first rule that matches and whose group can serve it.

    litellm_plugins:
      routing:
        rules:
          - {name: background, when: {model: "claude-*haiku*"}, to: glm-fast}
          - {name: long-context, when: {input_tokens_above: 60000}, to: openrouter}

Rules are tried in order (:func:`rule_matches`: every condition of `when` holds). A matching
rule whose group cannot serve the request (:mod:`litellm_plugins.routing.capabilities`) is
passed over for the next one; with no rule left, the group the request would go to without rules
(an exact group name or `model_aliases`) is checked the same way. :func:`choose_route` returns the
winner, or the refusals when no group can serve. The request transformer's hook calls it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from litellm_plugins.routing.capabilities import Refusal
from litellm_plugins.routing.request_facts import RequestFacts
from litellm_plugins.routing.settings import Globs, Rule

# group -> why it cannot serve this request, or None.
CanServe = Callable[[str], Awaitable[Refusal | None]]


def _any_glob(value: str | None, globs: Globs) -> bool:
    return value is not None and any(fnmatchcase(value.lower(), glob) for glob in globs)


async def rule_matches(rule: Rule, facts: RequestFacts) -> bool:
    """Every condition of `rule.when` holds for `facts` (the token estimate is asked last)."""
    when = rule.when
    if when.model is not None and not _any_glob(facts.model, when.model):
        return False
    for wanted, actual in ((when.thinking, facts.thinking), (when.images, facts.images)):
        if wanted is not None and wanted != actual:
            return False
    if when.subagent is not None and when.subagent != facts.subagent:
        return False
    if when.server_tool is not None and not any(_any_glob(t, when.server_tool) for t in facts.server_tools):
        return False
    if when.client is not None and not _any_glob(facts.client, when.client):
        return False
    for name, globs in when.header:
        if not _any_glob(facts.header(name), globs):
            return False
    return when.input_tokens_above is None or await facts.input_tokens_above(when.input_tokens_above)


@dataclass(frozen=True)
class Route:
    """The outcome: `group` to serve (None: leave the model as it is), the `rule` that chose it
    (None: no rule), the refusals of the groups passed over, and whether no group can serve."""

    group: str | None
    rule: Rule | None = None
    refusals: tuple[Refusal, ...] = ()
    refused: bool = False


async def choose_route(
    rules: Sequence[Rule], facts: RequestFacts, default_group: str | None, can_serve: CanServe
) -> Route:
    """The first matching rule whose group can serve; else `default_group` if it can; else refused."""
    refusals: list[Refusal] = []
    for rule in rules:
        if not await rule_matches(rule, facts):
            continue
        refusal = await can_serve(rule.to)
        if refusal is None:
            return Route(rule.to, rule, tuple(refusals))
        refusals.append(refusal)
    if default_group is None:  # a model the bundle does not know: LiteLLM answers as it would
        return Route(None, None, tuple(refusals))
    refusal = await can_serve(default_group)
    if refusal is None:
        return Route(default_group, None, tuple(refusals))
    refusals.append(refusal)
    return Route(None, None, tuple(refusals), refused=True)


def refusal_message(refusals: Sequence[Refusal]) -> str:
    """One message for the client: an overlong prompt first (Claude Code matches its wording)."""
    ordered = sorted(refusals, key=lambda refusal: refusal.need != "input_tokens")
    return "; ".join(dict.fromkeys(refusal.message for refusal in ordered))
