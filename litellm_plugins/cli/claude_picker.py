"""What Claude Code's `/model` picker and context-window logic learn about each live model group
(pure; `litellm-plugins claude-settings` writes the result into Claude Code's settings.json).

Reads, per group of the (live) config:

    model_list:
      - model_name: deepseek
        litellm_params: {model: anthropic/deepseek-chat, ...}
        model_info:
          display_name: DeepSeek V3     # LiteLLM's key: the picker row's label and /v1/models' name
          description: cheap and fast   # optional: the row's subtitle
          behaves_as: sonnet            # optional: haiku | sonnet | opus | a claude-* model id
          max_input_tokens: 128000      # the window Claude Code compacts for
    litellm_plugins:
      model_aliases: {"claude-*haiku*": glm-fast}   # glm-fast then behaves as haiku

What Claude Code 2.1.332 does with the result (read from its binary, checked by tests/e2e):
- `modelPicker.options` rows `{model, label, description, behavesAs}` are added after the built-in
  rows of `/model`; honoured from the user's `~/.claude/settings.json` (and managed settings), not
  from a project's `.claude/settings.json`. `behavesAs` must be a model id that Claude Code knows
  (its aliases `sonnet` etc. are not accepted): the row's model then gets that model's prompt,
  capability and effort handling and no "doesn't recognize the model" notice.
- `CLAUDE_CODE_MAX_CONTEXT_TOKENS` is the context window it assumes for every model it does not
  recognize (default 1m tokens, with a notice on each run); set, the notice is gone.
- `CLAUDE_CODE_AUTO_COMPACT_WINDOW` caps the window auto-compact keeps a session in, for every
  model (Claude's too), so it is emitted only when every model is one group.
- `CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1` makes it read `GET /v1/models?limit=1000` (with
  `ANTHROPIC_AUTH_TOKEN` as its credential; it skips discovery without one) and keep the ids that
  contain "claude" or "anthropic"; LiteLLM lists other groups to it as `claude-router-<hex>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from litellm_plugins.core.settings import SettingsError
from litellm_plugins.transformer.model_aliases import resolve_model_group

# The model ids Claude Code 2.1.332 sends for its `haiku`, `sonnet` and `opus` aliases (what
# `claude --model sonnet` requests): the ids `behaves_as: sonnet` stands for.
BEHAVES_AS_IDS: Final = {
    "haiku": "claude-haiku-5-5",
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
}
# A group that aliases map several families to behaves as the first of these.
FAMILY_PREFERENCE: Final = ("sonnet", "opus", "haiku")
MAX_CONTEXT_TOKENS: Final = "CLAUDE_CODE_MAX_CONTEXT_TOKENS"
AUTO_COMPACT_WINDOW: Final = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"


@dataclass(frozen=True)
class GroupFacts:
    """One model group as the picker sees it (from its deployments' `model_info`)."""

    name: str
    display_name: str | None
    description: str | None
    behaves_as: str | None
    max_input_tokens: int | None
    models: tuple[str, ...]  # the deployments' `litellm_params.model`

    @property
    def passes_model_id_on(self) -> bool:
        """`anthropic/*`: the group sends on the id the client asked for, so its own name is not a
        model anyone can pick (Claude Code's built-in rows reach it through the aliases)."""
        return bool(self.models) and all("*" in model for model in self.models)


def behaves_as_id(value: Any, group: str) -> str:
    """The Claude model id `model_info.behaves_as` stands for, or a SettingsError saying how to fix it."""
    text = str(value).strip() if isinstance(value, str) else ""
    if text.lower() in BEHAVES_AS_IDS:
        return BEHAVES_AS_IDS[text.lower()]
    if text.lower().startswith("claude-"):
        return text
    raise SettingsError(
        f"model group {group!r}: model_info.behaves_as must be haiku, sonnet, opus or a claude-* model id "
        f"Claude Code knows (e.g. {BEHAVES_AS_IDS['sonnet']}), got {value!r}"
    )


def group_facts(config: Mapping[str, Any]) -> list[GroupFacts]:
    """Each group of `model_list`, in order. A group's window is the smallest one its deployments
    declare (a request may land on any of them); the first declared label wins."""
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for deployment in config.get("model_list") or []:
        if isinstance(deployment, Mapping) and deployment.get("model_name"):
            by_group.setdefault(str(deployment["model_name"]), []).append(deployment)
    facts = []
    for name, deployments in by_group.items():
        infos = [d.get("model_info") or {} for d in deployments]
        infos = [info for info in infos if isinstance(info, Mapping)]

        def first(key: str, infos: list[Mapping[str, Any]] = infos) -> Any:
            return next((info[key] for info in infos if info.get(key) not in (None, "")), None)

        windows = [
            window
            for info in infos
            if isinstance(window := info.get("max_input_tokens"), int) and not isinstance(window, bool)
        ]
        declared = first("behaves_as")
        models = tuple(
            str((d.get("litellm_params") or {}).get("model") or "")
            for d in deployments
            if isinstance(d.get("litellm_params"), Mapping)
        )
        facts.append(
            GroupFacts(
                name=name,
                display_name=str(first("display_name")) if first("display_name") is not None else None,
                description=str(first("description")) if first("description") is not None else None,
                behaves_as=behaves_as_id(declared, name) if declared is not None else None,
                max_input_tokens=min(windows) if windows else None,
                models=models,
            )
        )
    return facts


def alias_pairs(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    plugins = config.get("litellm_plugins") or {}
    aliases = plugins.get("model_aliases") if isinstance(plugins, Mapping) else None
    if not isinstance(aliases, Mapping):
        return []
    return [(str(pattern), str(group)) for pattern, group in aliases.items()]


def inferred_behaves_as(group: str, aliases: Sequence[tuple[str, str]], groups: Sequence[str]) -> str | None:
    """The Claude id a group behaves as because the aliases send that family's ids to it (the
    first alias matching `claude-haiku-...` is the one the request transformer applies)."""
    families = [
        family
        for family in FAMILY_PREFERENCE
        if resolve_model_group(BEHAVES_AS_IDS[family], aliases, groups) == group
    ]
    return BEHAVES_AS_IDS[families[0]] if families else None


def window_label(tokens: int) -> str:
    if tokens >= 1_000_000 and tokens % 1_000_000 == 0:
        return f"{tokens // 1_000_000}M"
    return f"{tokens // 1000}k" if tokens >= 1000 and tokens % 1000 == 0 else str(tokens)


def picker_rows(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """`modelPicker.options` rows for the groups a user can pick by name."""
    facts = group_facts(config)
    groups = [fact.name for fact in facts]
    aliases = alias_pairs(config)
    rows = []
    for fact in facts:
        if fact.passes_model_id_on:
            continue
        detail = ", ".join(
            part
            for part in (
                "/".join(dict.fromkeys(fact.models)),
                f"{window_label(fact.max_input_tokens)} context" if fact.max_input_tokens else "",
            )
            if part
        )
        row = {
            "model": fact.name,
            "label": fact.display_name or fact.name,
            "description": fact.description or f"model group {fact.name} on the proxy ({detail})",
        }
        behaves_as = fact.behaves_as or inferred_behaves_as(fact.name, aliases, groups)
        if behaves_as:
            row["behavesAs"] = behaves_as
        rows.append(row)
    return rows


def context_env(config: Mapping[str, Any], only_groups: Sequence[str] | None) -> dict[str, str]:
    """The context-window variables for Claude Code's env block.

    `only_groups`: the groups every Claude Code model goes to (`claude-settings --model` on the
    provider path, with its `--haiku-model` ...), else None (Claude is the main model, groups are
    picked in `/model`). One value has to cover several models, so it is the smallest declared
    window among them: none is overrun, a larger one compacts early.
    """
    facts = {fact.name: fact for fact in group_facts(config)}
    if only_groups is not None:
        windows = [
            window
            for group in dict.fromkeys(only_groups)
            if group in facts and (window := facts[group].max_input_tokens) is not None
        ]
        if not windows:
            return {}
        return {MAX_CONTEXT_TOKENS: str(min(windows)), AUTO_COMPACT_WINDOW: str(min(windows))}
    # CLAUDE_CODE_MAX_CONTEXT_TOKENS covers the models Claude Code does not recognize: the rows
    # without behavesAs (the auto-compact window would cap Claude's own models too: not set).
    unknown = [
        window
        for row in picker_rows(config)
        if "behavesAs" not in row and (window := facts[row["model"]].max_input_tokens) is not None
    ]
    return {MAX_CONTEXT_TOKENS: str(min(unknown))} if unknown else {}


def merged_picker(existing: Any, rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """settings.json's `modelPicker` with our rows: the user's other rows and keys are kept, rows
    for the same model are replaced (Claude Code takes the whole key from one settings file)."""
    picker = dict(existing) if isinstance(existing, Mapping) else {}
    ours = {row["model"] for row in rows}
    kept = [
        row
        for row in picker.get("options") or []
        if isinstance(row, Mapping) and row.get("model") not in ours
    ]
    picker["options"] = [*kept, *(dict(row) for row in rows)]
    return picker
