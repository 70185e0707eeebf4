"""`litellm-plugins check`: every problem in `config.yaml` + `.env`, found before a session fails.

Each problem says what is wrong, where, and how to fix it. Checks:
- `os.environ/NAME` references whose variable is unset or empty;
- fallbacks (and context-window / content-policy fallbacks) naming groups that do not exist;
- `litellm_plugins.model_aliases`: patterns that match no Claude model id Claude Code sends, and
  targets that are not groups;
- callbacks and `custom_auth` that fail to import;
- a missing or weak `LITELLM_MASTER_KEY`; proxy tokens that the auth plugin would refuse; an open
  proxy with no token at all (a warning);
- a Claude token pool with no deployment on Anthropic's own API to use it;
- rotator and plugin settings that would stop the proxy at startup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from litellm_plugins.transformer.model_aliases import unmatched_patterns
from litellm_plugins.cli.quickstart import env_references
from litellm_plugins.core.settings import SettingsError, parse_settings

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
FALLBACK_KEYS: Final = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
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
            problems.append(Problem("error", f"model_list[{index}]", "each entry must be a mapping with model_name and litellm_params"))
            continue
        for name in sorted(env_references(deployment.get("litellm_params"))):
            if not environ.get(name):
                problems.append(
                    Problem(
                        "error",
                        f"model_list[{index}] ({deployment.get('model_name')})",
                        f"{name} is not set: add it to .env, remove the deployment, or start with "
                        "`litellm-plugins serve`, which leaves groups without a key off",
                    )
                )
    for section in ("general_settings", "litellm_settings", "router_settings"):
        for name in sorted(env_references(config.get(section) or {})):
            if not environ.get(name) and name != "LITELLM_MASTER_KEY":  # check_secrets says more
                problems.append(Problem("error", section, f"{name} is not set: add it to .env"))
    return problems


def check_fallbacks(config: Mapping[str, Any]) -> list[Problem]:
    groups = set(_groups(config))
    router = config.get("router_settings") or {}
    problems = []
    for key in FALLBACK_KEYS:
        for entry in router.get(key) or []:
            if not isinstance(entry, Mapping):
                problems.append(Problem("error", f"router_settings.{key}", f"{entry!r} must map a group to a list of groups"))
                continue
            for source, targets in entry.items():
                where = f"router_settings.{key} ({source})"
                if source not in groups:
                    hint = " (fallbacks match exact group names; map Claude ids with litellm_plugins.model_aliases)" if "*" in str(source) else ""
                    problems.append(Problem("error", where, f"no model group named {source!r}{hint}"))
                for target in targets or []:
                    if target not in groups:
                        problems.append(Problem("error", where, f"fallback target {target!r} is not a model group"))
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
                "matches none of the model ids Claude Code sends (for example claude-sonnet-4-5, claude-haiku-4-5-20251001)",
            )
        )
    for pattern, group in settings.model_aliases:
        if group not in groups:
            problems.append(Problem("error", f"litellm_plugins.model_aliases[{pattern!r}]", f"target {group!r} is not a model group"))
    return problems


def check_plugins(config: Mapping[str, Any], config_path: str, load: Callable[[str, str], Any]) -> list[Problem]:
    paths = [("litellm_settings.callbacks", value) for value in (config.get("litellm_settings") or {}).get("callbacks") or []]
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
            problems.append(Problem("error", where, f"{value} fails to load: {type(error).__name__}: {error}"))
    return problems


def check_secrets(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[Problem]:
    from litellm_plugins.auth.proxy_tokens import load_auth_settings

    problems = []
    master = environ.get("LITELLM_MASTER_KEY", "")
    configured = (config.get("general_settings") or {}).get("master_key")
    if not master and not (isinstance(configured, str) and not configured.startswith("os.environ/")):
        problems.append(Problem("error", "LITELLM_MASTER_KEY", "not set: the proxy refuses to start (`litellm-plugins serve` generates one)"))
    elif master and len(master) < MIN_MASTER_KEY_LENGTH:
        problems.append(Problem("error", "LITELLM_MASTER_KEY", f"shorter than {MIN_MASTER_KEY_LENGTH} characters: generate one with `openssl rand -hex 24`"))
    if (config.get("general_settings") or {}).get("custom_auth"):
        try:
            auth = load_auth_settings(environ)
        except SettingsError as error:
            problems.append(Problem("error", "proxy tokens", str(error)))
        else:
            if not auth.registry:
                where = "PROXY_STATIC_TOKEN"
                if auth.open_to_all:
                    problems.append(Problem("warning", where, "no proxy token and PROXY_AUTH_OPEN=true: anyone who reaches the port can spend your keys"))
                else:
                    problems.append(Problem("warning", where, "no proxy token: only clients on this machine (loopback) are served"))
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
            "a Claude token pool is set but no deployment is on Anthropic's API (model anthropic/..., no api_base "
            "or one listed in litellm_plugins.anthropic_api_bases): the pool would never be used",
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
        problems.append(Problem("error", "model_list", "no deployments: copy the recipes from config.yaml.example"))
    problems += check_env_references(config, environ)
    problems += check_fallbacks(config)
    problems += check_aliases(config)
    problems += check_secrets(config, environ)
    problems += check_pool(config, environ)
    problems += check_plugin_sections(config)
    problems += check_plugins(config, config_path, load)
    return problems
