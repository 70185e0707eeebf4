"""No usable Claude credential, and LiteLLM's own credential errors, answered with the fix (pure).

Two cases reach a client as a bare LiteLLM 401 ("Missing Anthropic API Key ... set
ANTHROPIC_API_KEY", the wrong fix for this bundle), without `x-should-retry: false` (Claude
Code then retries about ten times) and with a traceback in the proxy log:

- a request for a group served only by Anthropic's own API, in passthrough mode (no pool, a
  client whose proxy token may not use it, or `x-claude-token-mode: passthrough`), that carries
  no Claude credential of its own. The rotator's `async_pre_call_hook` asks
  :func:`missing_credential_reason` before routing, so no fallback serves it silently and no
  provider call is made, and answers 401 with :func:`missing_credential_message`;
- a provider's own 401/403 (an expired Claude login, a revoked pooled token, a wrong provider
  key in `.env`): the upstream guard's failure hook adds :func:`credential_error_fix` to the
  message and the no-retry header.

Settings read: none of its own (the rotator's mode and pool, the auth plugin's metadata).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from litellm_plugins.core.deployment import provider_of

# Set by the auth plugin in the identity's metadata: whether the client sent a Claude credential
# (`sk-ant-...`) of its own. LiteLLM redacts credential headers before any hook sees them.
CLIENT_CLAUDE_CREDENTIAL: Final = "sent_claude_credential"
NO_POOL: Final = "no-pool"
NOT_PERMITTED: Final = "not-permitted"
ASKED_PASSTHROUGH: Final = "asked-passthrough"
POOL_OFF: Final = "pool-off"

LOGIN_FIX: Final = (
    "log in to Claude Code (run `claude`, then /login; or run `claude setup-token` and set "
    "CLAUDE_CODE_OAUTH_TOKEN) and use the settings `litellm-plugins claude-settings` prints (they keep your "
    "login: no ANTHROPIC_AUTH_TOKEN)"
)
MISSING_MESSAGES: Final = {
    NO_POOL: (
        "No Claude credential: this request goes to Anthropic's API with your own Claude login and none was "
        "sent, and the proxy has no token pool. Fix: "
        + LOGIN_FIX
        + "; or set CLAUDE_OAUTH_TOKENS in the proxy's .env "
        "(tokens from `claude setup-token`) to serve Claude from a pool; or ask for a model group with a "
        "provider key (`litellm-plugins claude-settings --model <group>`)"
    ),
    NOT_PERMITTED: (
        "No Claude credential: your proxy token may not use the proxy's Claude pool (it is a passthrough "
        "client in PROXY_STATIC_TOKENS), so Anthropic needs your own Claude login and none was sent. Fix: "
        + LOGIN_FIX
        + "; or ask the proxy's admin for a client with `:pool` permission"
    ),
    ASKED_PASSTHROUGH: (
        "No Claude credential: the request asked for passthrough (x-claude-token-mode: passthrough) but "
        "carries no Claude login. "
        "Fix: " + LOGIN_FIX + "; or send `x-claude-token-mode: rotate` to use the proxy's pool"
    ),
    POOL_OFF: (
        "No Claude credential: the proxy runs with CLAUDE_TOKEN_MODE=passthrough, so Anthropic needs your "
        "own Claude login and none was sent. Fix: "
        + LOGIN_FIX
        + "; or send `x-claude-token-mode: rotate` to use the pool"
    ),
}
MISSING_PREFIX: Final = "No Claude credential: "
LOG_MISSING: Final = "claude credential: refused %s for %s (%s): no Claude credential to send to Anthropic"

# LiteLLM's texts for a credential the provider (or LiteLLM itself) refused.
CREDENTIAL_ERROR: Final = re.compile(
    r"Missing Anthropic API Key|invalid x-api-key|authentication_error|OAuth (token|authentication)|"
    r"Incorrect API key|invalid api key|Invalid bearer token|permission_error|AuthenticationError|"
    r"PermissionDeniedError|api key",
    re.IGNORECASE,
)
CLAUDE_FIXES: Final = {
    "passthrough": (
        "Anthropic refused the Claude credential this client sent (its own login). Fix: " + LOGIN_FIX
    ),
    "rotate": (
        "Anthropic refused the proxy's pooled Claude token(s). Fix (proxy admin): replace the refused "
        "entries of CLAUDE_OAUTH_TOKENS with fresh `claude setup-token` tokens (`litellm-plugins pool` "
        "shows which)"
    ),
}
PROVIDER_FIX: Final = (
    "The provider refused the proxy's key for this model group. Fix (proxy admin): correct that provider's "
    "key in .env (for example OPENAI_API_KEY, ZAI_API_KEY) and restart; `litellm-plugins check` lists the "
    "keys in use"
)


def missing_credential_reason(
    mode: str,
    requested_mode: str | None,
    may_use_pool: bool,
    pool_size: int,
    sent_claude_credential: bool | None,
) -> str | None:
    """Why a passthrough request has no Claude credential to send, or None when it has one (or
    when the auth plugin did not say: then LiteLLM decides, as before)."""
    if mode != "passthrough" or sent_claude_credential is None or sent_claude_credential:
        return None
    if requested_mode == "passthrough" and may_use_pool and pool_size:
        return ASKED_PASSTHROUGH
    if pool_size == 0:
        return NO_POOL
    if not may_use_pool:
        return NOT_PERMITTED
    return POOL_OFF


def missing_credential_message(reason: str) -> str:
    return MISSING_MESSAGES[reason]


def needs_claude_credential(
    deployments: Iterable[Mapping[str, Any]],
    is_anthropic_api: Callable[[Any], bool],
    environ: Mapping[str, str],
) -> bool:
    """True when every deployment of a group is Anthropic's own API with no key of its own, so
    only a Claude credential (pooled or the client's) can serve it."""
    found = False
    for deployment in deployments:
        params = deployment.get("litellm_params") if isinstance(deployment, Mapping) else None
        if not isinstance(params, Mapping):
            return False
        provider = provider_of(str(params.get("model") or ""), params.get("custom_llm_provider"))
        if provider != "anthropic" or not is_anthropic_api(params.get("api_base")) or params.get("api_key"):
            return False
        found = True
    # LiteLLM falls back to these variables for a deployment without a key.
    return found and not (environ.get("ANTHROPIC_API_KEY") or environ.get("ANTHROPIC_AUTH_TOKEN"))


def credential_error_fix(
    status: int | None, message: str, provider: str | None, mode: str | None
) -> str | None:
    """The fix to add to a provider's (or LiteLLM's) 401/403 about a credential, or None."""
    if status not in (401, 403) or not CREDENTIAL_ERROR.search(message or ""):
        return None
    if "Missing Anthropic API Key" in message:
        return MISSING_MESSAGES[NO_POOL]
    if provider == "anthropic" and mode in CLAUDE_FIXES:
        return CLAUDE_FIXES[mode]
    return PROVIDER_FIX


QUIET_MARK: Final = "_litellm_plugins_explained"
LITELLM_PROXY_LOGGER: Final = "LiteLLM Proxy"


def mark_explained(exception: BaseException) -> None:
    """This error was logged by the bundle in one line: LiteLLM need not log it (with a traceback)."""
    try:
        setattr(exception, QUIET_MARK, True)
    except AttributeError:
        pass


class ExplainedErrorFilter(logging.Filter):
    """Drops LiteLLM's record (and its traceback) for an error the bundle already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        candidates: list[Any] = [record.exc_info[1] if record.exc_info else None]
        candidates += list(record.args) if isinstance(record.args, tuple) else []
        for item in candidates:
            if isinstance(item, BaseException) and getattr(item, QUIET_MARK, False):
                return False
        # LiteLLM re-wraps a hook's exception on some paths: the message is what survives.
        return MISSING_PREFIX not in record.getMessage()


def install_log_filter() -> None:
    """Once per process, on LiteLLM's proxy logger (called when the first such error is seen)."""
    target = logging.getLogger(LITELLM_PROXY_LOGGER)
    if not any(isinstance(existing, ExplainedErrorFilter) for existing in target.filters):
        target.addFilter(ExplainedErrorFilter())
