"""`litellm-plugins check`: every problem in `config.yaml` + `.env`, found before a session fails.

Each problem says what is wrong, where, and how to fix it; each root cause is reported once.
Severities: `error` (the proxy would fail or misbehave: exit 1), `warning`, and `off` (a group
whose key is not set: `serve` leaves it off, so it is no error). Checks:
- `os.environ/NAME` references whose variable is unset or empty (the group is "off");
- unknown keys in the bundle's section (`litellm_plugins.model_alias`, `thinkng`, pool entries)
  and in `router_settings` (known keys from LiteLLM's own `Router`, e.g. `fallback` for `fallbacks`);
- `model_info` values of the wrong type for the keys the bundle (and LiteLLM) reads
  (`max_output_tokens: "8k"`);
- fallbacks (and context-window / content-policy fallbacks) naming groups that do not exist;
- `litellm_plugins.model_aliases`: patterns that match no Claude model id Claude Code sends, and
  targets that are not groups;
- `litellm_plugins.routing.rules`: unknown condition keys, values of the wrong type, targets that
  are not groups, and rules that cannot be reached (after a rule without `when`, or after one
  whose conditions are a subset of theirs: reached only when that rule's group cannot serve);
- callbacks and `custom_auth` that fail to import;
- a missing or weak `LITELLM_MASTER_KEY`; proxy tokens that the auth plugin would refuse; an open
  proxy with no token at all (a warning);
- a Claude token pool with no deployment on Anthropic's API to use it;
- rotator and plugin settings that would stop the proxy at startup.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from litellm_plugins.cli.quickstart import env_references
from litellm_plugins.core.model_info import model_info_problems
from litellm_plugins.core.settings import KNOWN_KEYS, POOL_KEYS, SECTION, SettingsError, parse_settings
from litellm_plugins.routing.settings import (
    ROUTING_SECTION,
    routing_problems,
    shadowing_rule,
    target_problems,
)
from litellm_plugins.transformer.model_aliases import unmatched_patterns

MIN_MASTER_KEY_LENGTH: Final = 32
# Model ids Claude Code sends (defaults of recent releases), to test alias patterns against.
CLAUDE_CODE_MODEL_IDS: Final = (
    "claude-sonnet-5",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-20250514",
    "claude-opus-4-1",
    "claude-opus-4-1-20250805",
    "claude-opus-4-5",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-3-5-haiku-20241022",
)
LOAD_FAILURE: Final = " fails to load: "
FALLBACK_KEYS: Final = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning" | "off"
    where: str
    message: str

    def render(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


def _groups(config: Mapping[str, Any]) -> list[str]:
    return [str(d.get("model_name")) for d in config.get("model_list") or [] if isinstance(d, Mapping)]


def check_env_references(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[Problem]:
    problems = []
    for index, deployment in enumerate(config.get("model_list") or []):
        if not isinstance(deployment, Mapping):
            problems.append(
                Problem(
                    "error",
                    f"model_list[{index}]",
                    "each entry must be a mapping with model_name and litellm_params",
                )
            )
            continue
        missing = sorted(
            name for name in env_references(deployment.get("litellm_params")) if not environ.get(name)
        )
        if missing:
            problems.append(
                Problem(
                    "off",
                    f"model_list[{index}] ({deployment.get('model_name')})",
                    f"{', '.join(missing)} not set: `litellm-plugins serve` leaves this deployment off; add "
                    f"{'it' if len(missing) == 1 else 'them'} to .env to turn it on (with plain "
                    "`litellm --config` its requests would fail)",
                )
            )
    for section in ("general_settings", "litellm_settings", "router_settings"):
        for name in sorted(env_references(config.get(section) or {})):
            if not environ.get(name) and name != "LITELLM_MASTER_KEY":  # check_secrets says more
                problems.append(Problem("error", section, f"{name} is not set: add it to .env"))
    return problems


def _unknown(where: str, keys: Any, known: frozenset[str] | set[str]) -> list[Problem]:
    problems = []
    for key in sorted(str(k) for k in keys if str(k) not in known):
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
        problems.append(
            Problem("error", f"{where}.{key}", f"unknown setting (ignored, so it does nothing): {hint}")
        )
    return problems


def router_setting_names() -> frozenset[str]:
    """The keys LiteLLM's proxy passes to its Router (it ignores every other with a warning)."""
    import litellm

    valid = getattr(litellm.Router, "get_valid_args", None)
    names = valid() if callable(valid) else list(inspect.signature(litellm.Router.__init__).parameters)
    return frozenset(str(name) for name in names if name not in ("self", "model_list"))


def check_unknown_keys(
    config: Mapping[str, Any], router_names: Callable[[], frozenset[str]] = router_setting_names
) -> list[Problem]:
    problems: list[Problem] = []
    plugins = config.get(SECTION)
    if isinstance(plugins, Mapping):
        problems += _unknown(SECTION, plugins, KNOWN_KEYS)
        pools = plugins.get("pools")
        if isinstance(pools, Mapping):
            for name, spec in pools.items():
                if isinstance(spec, Mapping):
                    problems += _unknown(f"{SECTION}.pools.{name}", spec, POOL_KEYS)
    router = config.get("router_settings")
    if isinstance(router, Mapping) and router:
        problems += _unknown("router_settings", router, router_names())
    return problems


def check_model_info(config: Mapping[str, Any]) -> list[Problem]:
    return [
        Problem(
            "error",
            where,
            f"{message}: LiteLLM answers every request to this group with a 500 (the proxy refuses to start)",
        )
        for where, message in model_info_problems(config.get("model_list"))
    ]


def check_fallbacks(config: Mapping[str, Any]) -> list[Problem]:
    groups = set(_groups(config))
    router = config.get("router_settings") or {}
    problems = []
    for key in FALLBACK_KEYS:
        for entry in router.get(key) or []:
            if not isinstance(entry, Mapping):
                problems.append(
                    Problem(
                        "error", f"router_settings.{key}", f"{entry!r} must map a group to a list of groups"
                    )
                )
                continue
            for source, targets in entry.items():
                where = f"router_settings.{key} ({source})"
                if source not in groups:
                    hint = (
                        " (fallbacks match exact group names; map Claude ids with "
                        "litellm_plugins.model_aliases)"
                        if "*" in str(source)
                        else ""
                    )
                    problems.append(Problem("error", where, f"no model group named {source!r}{hint}"))
                for target in targets or []:
                    if target not in groups:
                        problems.append(
                            Problem("error", where, f"fallback target {target!r} is not a model group")
                        )
    return problems


def check_aliases(config: Mapping[str, Any]) -> list[Problem]:
    try:
        settings = parse_settings(config.get("litellm_plugins"))
    except SettingsError as error:
        return [Problem("error", "litellm_plugins", str(error))]
    groups = set(_groups(config))
    problems = []
    for pattern in unmatched_patterns(settings.model_aliases, CLAUDE_CODE_MODEL_IDS):
        problems.append(
            Problem(
                "error",
                f"litellm_plugins.model_aliases[{pattern!r}]",
                "matches none of the model ids Claude Code sends (for example claude-sonnet-4-5, "
                "claude-haiku-4-5-20251001)",
            )
        )
    for pattern, group in settings.model_aliases:
        if group not in groups:
            problems.append(
                Problem(
                    "error",
                    f"litellm_plugins.model_aliases[{pattern!r}]",
                    f"target {group!r} is not a model group",
                )
            )
    return problems


def check_routing(config: Mapping[str, Any]) -> list[Problem]:
    plugins = config.get(SECTION)
    section = plugins.get(ROUTING_SECTION) if isinstance(plugins, Mapping) else None
    where = f"{SECTION}.{ROUTING_SECTION}"
    settings, messages = routing_problems(section)
    messages += target_problems(settings.rules, set(_groups(config)))
    problems = [Problem("error", where, message.removeprefix(f"{where}.")) for message in messages]
    for index, rule in enumerate(settings.rules):
        earlier = shadowing_rule(rule, settings.rules[:index])
        if earlier is None:
            continue
        why = "has no `when`" if not earlier.when.items() else "asks a subset of its conditions"
        problems.append(
            Problem(
                "warning",
                rule.where,
                f"unreachable: rule {earlier.name!r} before it {why}, so this rule is only tried when "
                f"{earlier.to!r} cannot serve the request; move it above {earlier.name!r}",
            )
        )
    return problems


def check_plugins(
    config: Mapping[str, Any], config_path: str, load: Callable[[str, str], Any]
) -> list[Problem]:
    paths = [
        ("litellm_settings.callbacks", value)
        for value in (config.get("litellm_settings") or {}).get("callbacks") or []
    ]
    auth = (config.get("general_settings") or {}).get("custom_auth")
    if auth:
        paths.append(("general_settings.custom_auth", auth))
    problems = []
    for where, value in paths:
        if not isinstance(value, str) or "." not in value:
            continue  # LiteLLM's built-in callback names ("langfuse", ...)
        try:
            load(value, config_path)
        except Exception as error:  # noqa: BLE001 - report any import or settings failure
            missing = _missing_name(value) if isinstance(error, SettingsError) else None
            # A settings error (reported on its own line) hides a misspelt name: say both.
            cause = missing or f"{type(error).__name__}: {error}"
            problems.append(Problem("error", where, f"{value}{LOAD_FAILURE}{cause}"))
    return problems


def _missing_name(value: str) -> str | None:
    """ "no name X in module M" when module M's source does not define X (found without running it)."""
    module, _, name = value.rpartition(".")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    source = Path(spec.origin).read_text(encoding="utf-8")
    return None if re.search(rf"\b{re.escape(name)}\b", source) else f"no name {name!r} in {module}"


def check_secrets(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[Problem]:
    from litellm_plugins.auth.proxy_tokens import load_auth_settings

    problems = []
    master = environ.get("LITELLM_MASTER_KEY", "")
    configured = (config.get("general_settings") or {}).get("master_key")
    if not master and not (isinstance(configured, str) and not configured.startswith("os.environ/")):
        problems.append(
            Problem(
                "error",
                "LITELLM_MASTER_KEY",
                "not set: the proxy refuses to start (`litellm-plugins serve` generates one)",
            )
        )
    elif master and len(master) < MIN_MASTER_KEY_LENGTH:
        problems.append(
            Problem(
                "error",
                "LITELLM_MASTER_KEY",
                f"shorter than {MIN_MASTER_KEY_LENGTH} characters: generate one with `openssl rand -hex 24`",
            )
        )
    if (config.get("general_settings") or {}).get("custom_auth"):
        try:
            auth = load_auth_settings(environ)
        except SettingsError as error:
            problems.append(Problem("error", "proxy tokens", str(error)))
        else:
            if not auth.registry:
                where = "PROXY_STATIC_TOKEN"
                if auth.open_to_all:
                    problems.append(
                        Problem(
                            "warning",
                            where,
                            "no proxy token and PROXY_AUTH_OPEN=true: anyone who reaches the port can spend "
                            "your keys",
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            "warning",
                            where,
                            "no proxy token: only clients on this machine (loopback) are served",
                        )
                    )
    return problems


def check_pool(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[Problem]:
    from litellm_plugins.rotator.settings import parse_rotator_settings

    try:
        settings = parse_rotator_settings(parse_settings(config.get("litellm_plugins")), environ)
    except SettingsError as error:
        return [Problem("error", "rotator", str(error))]
    if not settings.claude_tokens:
        return []
    for deployment in config.get("model_list") or []:
        params = deployment.get("litellm_params") if isinstance(deployment, Mapping) else None
        model = str((params or {}).get("model") or "")
        if model.startswith("anthropic/") and settings.is_anthropic_api((params or {}).get("api_base")):
            return []
    return [
        Problem(
            "error",
            "CLAUDE_OAUTH_TOKENS",
            "a Claude token pool is set but no deployment is on Anthropic's API (model anthropic/..., no "
            "api_base or one listed in litellm_plugins.anthropic_api_bases): the pool would never be used",
        )
    ]


def check_plugin_sections(config: Mapping[str, Any]) -> list[Problem]:
    """The bundle's own sections that the proxy validates at startup (thinking, garbage collection)."""
    from litellm_plugins.core.gc_tuning import GC_SECTION, parse_gc_settings
    from litellm_plugins.thinking.settings import THINKING_SECTION, parse_thinking_settings

    problems = []
    try:
        settings = parse_settings(config.get("litellm_plugins"))
    except SettingsError as error:
        return [Problem("error", "litellm_plugins", str(error))]
    for name, parse in ((THINKING_SECTION, parse_thinking_settings), (GC_SECTION, parse_gc_settings)):
        try:
            parse(settings)
        except SettingsError as error:
            problems.append(Problem("error", f"litellm_plugins.{name}", str(error)))
    return problems


def check_config(
    config: Any, environ: Mapping[str, str], config_path: str, load: Callable[[str, str], Any]
) -> list[Problem]:
    if not isinstance(config, Mapping):
        return [Problem("error", config_path, "is not a YAML mapping")]
    problems: list[Problem] = []
    if not config.get("model_list"):
        problems.append(
            Problem("error", "model_list", "no deployments: copy the recipes from config.yaml.example")
        )
    problems += check_env_references(config, environ)
    problems += check_fallbacks(config)
    problems += check_aliases(config)
    problems += check_routing(config)
    problems += check_secrets(config, environ)
    problems += check_pool(config, environ)
    problems += check_plugin_sections(config)
    problems += check_unknown_keys(config)
    problems += check_model_info(config)
    problems += check_plugins(config, config_path, load)
    return once_per_root_cause(problems)


def once_per_root_cause(problems: list[Problem]) -> list[Problem]:
    """One line per root cause: a weak token breaks the auth plugin and every callback that
    loads it; the token's own line says it, the load failures repeating it are dropped."""
    kept: list[Problem] = []
    for problem in problems:
        if LOAD_FAILURE in problem.message:
            cause = problem.message.split(": ", 2)[-1]
            if any(cause in earlier.message for earlier in kept):
                continue
        kept.append(problem)
    return kept
