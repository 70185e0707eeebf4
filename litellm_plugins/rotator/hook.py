"""The OAuth token rotator: a pool of Claude credentials that fails over instead of failing.

Hooks:
- `async_pre_call_hook` (once per client request): decides the mode (`rotate` or `passthrough`)
  from `CLAUDE_TOKEN_MODE`, the `x-claude-token-mode` header (honoured only for clients whose
  proxy token may use the pool) and the pool's size, and the session the request belongs to
  (`x-claude-code-session-id`, or the session in `metadata.user_id`).
- `async_pre_call_deployment_hook` (once per attempt): removes every client credential unless
  the deployment is Anthropic's own API in passthrough mode; in rotate mode leases a pooled
  token (sticky per session) unless the deployment declares its own `api_key` (that key is
  its own: pay-as-you-go after the subscription, say), and sends the request through
  :class:`PoolFailoverClient`, so a 429 fails over to the next token inside the same attempt.
  Deployments bound to a named pool get a leased key.
- `async_post_call_failure_deployment_hook` (once per failed attempt): cools a named-pool key
  that failed, so LiteLLM's next retry leases another.
- `async_post_call_success_deployment_hook` (once per served attempt): keeps the subscription
  windows a pooled token's chat-completions answer reported (the failover client reads them
  for `/v1/messages`).

Subscription windows: every Anthropic answer to a pooled token carries the unified rate-limit
headers (:mod:`litellm_plugins.rotator.unified_limits`); the pool keeps them per token (shared
through Redis), prefers the least-utilized token for new sessions, moves sessions off a token
in `allowed_warning` while one without a warning is left, rests only the model family a
family-scoped 429 names, and adds a bounded jitter to every rate-limit reset.

Settings: see :mod:`litellm_plugins.rotator.settings`. Wire it with:

    litellm_settings:
      callbacks: ["litellm_plugins.hooks.token_rotator"]
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import ProxyException

from litellm_plugins.core.call_types import ANTHROPIC_CALL_TYPES, call_type_name
from litellm_plugins.core.claude_credential import (
    CLIENT_CLAUDE_CREDENTIAL,
    LOG_MISSING,
    install_log_filter,
    mark_explained,
    missing_credential_message,
    missing_credential_reason,
    needs_claude_credential,
)
from litellm_plugins.core.deployment import provider_of
from litellm_plugins.core.errors import hint_error_header
from litellm_plugins.core.metadata_keys import MODEL_GROUP, ROTATOR_STATE, may_use_claude_pool
from litellm_plugins.core.redaction import Secret
from litellm_plugins.core.request_metadata import metadata_value, request_metadata
from litellm_plugins.core.settings import NotStartedError, PluginSettings
from litellm_plugins.rotator.cooldown import cooldown_for
from litellm_plugins.rotator.credential_isolation import strip_client_credentials
from litellm_plugins.rotator.failover_client import (
    PoolFailoverClient,
    pool_exhausted_error,
    pool_exhausted_rate_limit_error,
)
from litellm_plugins.rotator.oauth_leases import OAuthLeases
from litellm_plugins.rotator.oauth_settings import build_refresher
from litellm_plugins.rotator.settings import CLAUDE_POOL, MODES, RotatorSettings, parse_rotator_settings
from litellm_plugins.rotator.shared_state import SharedPoolState
from litellm_plugins.rotator.token_pool import Lease, TokenPool
from litellm_plugins.rotator.unified_limits import (
    UnifiedLimits,
    jitter,
    limits_document,
    limits_from_document,
    model_family,
    parse_unified_limits,
)

logger = logging.getLogger(__name__)

METADATA_KEY: Final = ROTATOR_STATE
MODE_HEADER: Final = "x-claude-token-mode"
MAX_SESSION_LENGTH: Final = 200
SESSION_HEADER: Final = "x-claude-code-session-id"
LOG_COOLED: Final = "rotator: pool %s token %s cooling %.0fs (%s after HTTP %s) from %s until %s"
LOG_LEASE: Final = "rotator: pool %s token %s leased at %s"
LOG_INVALID: Final = "rotator: pool %s token %s was refused (HTTP %s): replace this credential"
LOG_STRIPPED: Final = "rotator: removed %d client credential header(s) before %s (%s)"
LOG_EXHAUSTED: Final = "rotator: pool %s: every token is cooling; the first frees up in %.0fs"
LOG_FAMILY_COOLED: Final = (
    "rotator: pool %s token %s cooling its %s models %.0fs (HTTP %s, %s) from %s until %s"
)
LOG_WARNING: Final = (
    "rotator: pool %s token %s reports allowed_warning (%s at %.0f%%, resets %s): new sessions, and "
    "its own, move to tokens without a warning while there are any"
)
MAX_LIMITS_SECONDS: Final = 8 * 24 * 3600.0  # the longest window is 7 days
LOG_STARTUP: Final = "rotator: claude pool %d token(s) %s, mode %s, strategy %s, shared state %s"


def local_time(epoch_seconds: float) -> str:
    """The pool's clock (epoch seconds) as ISO 8601 local time, for log lines people read."""
    return datetime.fromtimestamp(epoch_seconds).astimezone().isoformat(timespec="milliseconds")


def requested_mode(headers: Mapping[str, Any]) -> str | None:
    for name, value in headers.items():
        if str(name).lower() == MODE_HEADER and isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def session_of(headers: Mapping[str, Any], body_metadata: Any) -> str | None:
    """Claude Code's conversation id: its session header, or the session in `metadata.user_id`."""
    for name, value in headers.items():
        if str(name).lower() == SESSION_HEADER and isinstance(value, str) and value.strip():
            return value.strip()[:MAX_SESSION_LENGTH]
    user_id = body_metadata.get("user_id") if isinstance(body_metadata, Mapping) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    if user_id.startswith("{"):
        try:
            parsed = json.loads(user_id)
        except ValueError:
            return None
        session = parsed.get("session_id") if isinstance(parsed, dict) else None
        return session[:MAX_SESSION_LENGTH] if isinstance(session, str) and session else None
    _, marker, session = user_id.partition("_session_")
    return (session[:MAX_SESSION_LENGTH] or None) if marker else None


def client_credential(headers: Mapping[str, str]) -> str | None:
    """The client's own Claude credential (`Authorization: Bearer sk-ant-...` or `x-api-key`)."""
    for name, value in headers.items():
        lowered = str(name).lower()
        text = str(value).strip()
        if lowered == "authorization" and text[:7].lower() == "bearer ":
            text = text[7:].strip()
        elif lowered != "x-api-key":
            continue
        if text.startswith("sk-ant-"):
            return text
    return None


def decide_mode(settings: RotatorSettings, requested: str | None, may_use_pool: bool, pool_size: int) -> str:
    """`rotate` or `passthrough` for one request; raises PermissionError/ValueError for bad asks."""
    if requested is not None:
        if requested not in MODES:
            raise ValueError(f"{MODE_HEADER} must be rotate or passthrough, got {requested!r}")
        if requested == "rotate" and not may_use_pool:
            raise PermissionError(
                "this proxy token may not use the shared Claude pool (a passthrough client in "
                "PROXY_STATIC_TOKENS): drop the x-claude-token-mode: rotate header and use your own Claude "
                "login (the settings `litellm-plugins claude-settings --client <name>` prints), or ask the "
                "admin for a `:pool` client"
            )
        mode = requested
    else:
        mode = settings.mode if may_use_pool else "passthrough"
    return "passthrough" if mode == "rotate" and pool_size == 0 else mode


def group_deployments(group: Any) -> list[Mapping[str, Any]]:
    """The running router's deployments of `group` (empty outside a proxy or for an unknown name)."""
    import sys

    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    router = getattr(proxy_server, "llm_router", None) if proxy_server is not None else None
    if router is None or not isinstance(group, str):
        return []
    try:
        found = router.get_model_list(model_name=group)
    except Exception:  # noqa: BLE001 - an unknown name or a changed router API: LiteLLM decides
        return []
    return [d for d in found or [] if isinstance(d, Mapping)]


def declares_credential(kwargs: Mapping[str, Any]) -> bool | None:
    """Whether the running router's record of this attempt's deployment declares an `api_key`
    (None outside a proxy or for a deployment the router does not know)."""
    import sys

    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    router = getattr(proxy_server, "llm_router", None) if proxy_server is not None else None
    model_info = metadata_value(kwargs, "model_info", dict) or {}
    model_id = model_info.get("id")
    if router is None or not isinstance(model_id, str):
        return None
    try:
        deployment = router.get_deployment(model_id=model_id)
    except Exception:  # noqa: BLE001 - a changed router API: the request's own kwargs decide
        return None
    params = getattr(deployment, "litellm_params", None)
    return None if params is None else bool(getattr(params, "api_key", None))


def provider_response_headers(response: Any) -> dict[str, str]:
    """The provider's response headers LiteLLM keeps on a response (`llm_provider-<name>` in
    `_hidden_params["additional_headers"]`), by their own names."""
    hidden = getattr(response, "_hidden_params", None)
    extra = hidden.get("additional_headers") if isinstance(hidden, Mapping) else None
    headers: dict[str, str] = {}
    for name, value in (extra or {}).items() if isinstance(extra, Mapping) else ():
        lowered = str(name).lower()
        if lowered.startswith("llm_provider-"):
            headers[lowered.removeprefix("llm_provider-")] = str(value)
    return headers


def _status_and_headers(exception: Exception) -> tuple[int | None, dict[str, str]]:
    status = getattr(exception, "status_code", None)
    headers: dict[str, str] = {}
    for source in (
        getattr(exception, "litellm_response_headers", None),
        getattr(getattr(exception, "response", None), "headers", None),
    ):
        if source:
            headers.update({str(k): str(v) for k, v in dict(source).items()})
    return (status if isinstance(status, int) else None), headers


class TokenRotator(CustomLogger):
    def __init__(
        self,
        settings: RotatorSettings | None = None,
        shared: SharedPoolState | None = None,
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
    ) -> None:
        super().__init__()
        self._clock = clock
        self._draw = draw  # the jitter's random source, injectable for tests
        self._settings = settings
        self._shared = shared
        self._pools: dict[str, TokenPool] | None = None
        self._group_pools: dict[str, str] = {}
        self._oauth: OAuthLeases | None = None  # self-refreshing entries of the Claude pool
        if settings is not None:
            self._build(settings)

    # -- setup --------------------------------------------------------------------------------
    def configure(self, plugin_settings: PluginSettings, environ: Mapping[str, str] | None = None) -> None:
        """Read and validate settings, once (at proxy startup; raises SettingsError with a fix)."""
        if self._pools is None:
            self._build(parse_rotator_settings(plugin_settings, environ))

    def _build(self, settings: RotatorSettings) -> None:
        self._settings = settings
        claude_tokens = settings.claude_tokens
        if settings.oauth is not None:  # the pool holds a placeholder per pair; leases get its access token
            claude_tokens += tuple(entry.placeholder for entry in settings.oauth.entries)
            refresher = build_refresher(settings.oauth, settings.redis_url, self._clock)
            self._oauth = OAuthLeases(refresher, self._cool_entry)
        pools = {CLAUDE_POOL: TokenPool(CLAUDE_POOL, claude_tokens, settings.strategy, self._clock)}
        for named in settings.named_pools:
            pools[named.name] = TokenPool(named.name, named.tokens, named.strategy, self._clock)
            for group in named.model_groups:
                self._group_pools[group] = named.name
        if self._shared is None and settings.redis_url:
            self._shared = SharedPoolState(settings.redis_url)
        self._pools = pools
        logger.info(
            LOG_STARTUP,
            len(pools[CLAUDE_POOL]),
            pools[CLAUDE_POOL].fingerprints[:5],
            settings.mode,
            settings.strategy,
            "redis" if self._shared else "in-process",
        )

    @property
    def settings(self) -> RotatorSettings:
        if self._settings is None:
            raise NotStartedError("the token rotator")
        return self._settings

    def pool(self, name: str = CLAUDE_POOL) -> TokenPool:
        if self._pools is None:
            raise NotStartedError("the token rotator")
        return self._pools[name]

    def status(self) -> list[dict[str, object]]:
        if self._pools is None:
            raise NotStartedError("the token rotator")
        return [row for pool in self._pools.values() for row in pool.status()]

    async def status_report(self) -> dict[str, Any]:
        """Every pool's status; with Redis, cooldowns and subscription windows other workers saw
        are included."""
        if self._shared is not None:
            assert self._pools is not None
            for pool in self._pools.values():
                for fp, document in (await self._shared.all_limits(pool.name)).items():
                    self._adopt_limits(pool, fp, document)
        rows = self.status()
        if self._shared is not None:
            assert self._pools is not None
            now = self._clock()
            for name in self._pools:
                remote = await self._shared.all_cooling(name)
                for row in rows:
                    found = remote.get(str(row["fingerprint"])) if row["pool"] == name else None
                    if (
                        found
                        and found[0] > now
                        and (row["cooling_until"] is None or found[0] > float(row["cooling_until"]))
                    ):  # type: ignore[arg-type]
                        row.update(healthy=False, cooling_until=found[0], reason=found[1])
        return {
            "mode": self.settings.mode,
            "strategy": self.settings.strategy,
            "shared_state": "redis" if self._shared is not None else "in-process",
            "tokens": rows,
        }

    # -- leasing -------------------------------------------------------------------------------
    async def lease(
        self,
        pool: TokenPool,
        session: str | None,
        exclude: frozenset[str] = frozenset(),
        family: str | None = None,
    ) -> Lease | None:
        """A healthy token of `pool` for one attempt (`family`: the request's model family,
        opus/sonnet/haiku); an OAuth pair's lease carries its current (refreshed) access token."""
        tried = set(exclude)
        for _ in range(len(pool) + 1):
            lease = await self._select_lease(pool, session, frozenset(tried), family)
            if lease is None or self._oauth is None or not self._oauth.manages(lease):
                return lease
            ready = await self._oauth.ready(pool, lease)
            if ready is not None:
                return ready
            tried.add(lease.fingerprint)  # its refresh failed: logged and cooled
        return None

    async def _cool_entry(self, pool: TokenPool, fp: str, seconds: float, reason: str) -> None:
        until = pool.cool(fp, seconds, reason)
        if self._shared is not None and until is not None:
            await self._shared.set_cooling(pool.name, fp, until, until - self._clock(), reason)

    async def _select_lease(
        self,
        pool: TokenPool,
        session: str | None,
        exclude: frozenset[str] = frozenset(),
        family: str | None = None,
    ) -> Lease | None:
        preferred = None
        if self._shared is not None and session:
            preferred = await self._shared.session_token(pool.name, session)
        tried = set(exclude)
        for _ in range(max(1, len(pool))):
            lease = pool.select(session, tried, preferred, family)
            if lease is not None and logger.isEnabledFor(logging.DEBUG):
                logger.debug(LOG_LEASE, pool.name, lease.fingerprint, local_time(lease.leased_at))
            if lease is None or self._shared is None:
                return lease
            remote, document = await self._shared.candidate(pool.name, lease.fingerprint)
            if document is not None:
                self._adopt_limits(pool, lease.fingerprint, document)
            if remote is None and (document is None or not pool.avoids(lease.fingerprint, family, tried)):
                if session:
                    await self._shared.remember_session(pool.name, session, lease.fingerprint, 3600)
                return lease
            if remote is not None:
                pool.cool_until(lease.fingerprint, remote[0], remote[1])
            tried.add(lease.fingerprint)
            preferred = None
        return None

    @staticmethod
    def _adopt_limits(pool: TokenPool, fp: str, document: Any) -> None:
        """Take in what another worker learned about `fp`'s subscription windows."""
        parsed = limits_from_document(document)
        if parsed is None:
            return
        limits, seen_at, families = parsed
        pool.record_limits(fp, limits, seen_at)
        pool.adopt_family_cooling(fp, families)

    async def record_limits(self, pool: TokenPool, fp: str, headers: Mapping[str, str]) -> UnifiedLimits:
        """Keep the unified rate-limit windows an Anthropic response reported for `fp`; tell
        other workers when they changed notably."""
        limits = parse_unified_limits(headers)
        if limits.empty:
            return limits
        before = pool.limits_of(fp)[0]
        if pool.record_limits(fp, limits):
            if limits.status == "allowed_warning" and (before is None or before.status != "allowed_warning"):
                window = limits.windows.get("5h" if limits.claim == "five_hour" else "7d")
                logger.warning(
                    LOG_WARNING,
                    pool.name,
                    fp,
                    limits.claim or "a window",
                    100 * (window.utilization or 0.0) if window else 0.0,
                    local_time(limits.reset) if limits.reset else "unknown",
                )
            await self._share_limits(pool, fp)
        return limits

    async def _share_limits(self, pool: TokenPool, fp: str) -> None:
        if self._shared is None:
            return
        limits, seen_at, families = pool.limits_of(fp)
        now = self._clock()
        ends = [until for until in families.values()]
        if limits is not None:
            ends += [w.reset for w in limits.windows.values() if w.reset is not None]
        seconds = min(max([end - now for end in ends], default=3600.0), MAX_LIMITS_SECONDS)
        document = limits_document(limits or UnifiedLimits(), seen_at or now, families)
        await self._shared.set_limits(pool.name, fp, document, seconds)

    async def report_failure(self, pool: TokenPool, fp: str, status: int, headers: Mapping[str, str]) -> None:
        limits = await self.record_limits(pool, fp, headers)
        cooldown = cooldown_for(status, headers, self._clock())
        if cooldown is None:
            return
        seconds = cooldown.seconds
        if cooldown.reason == "rate_limited" and pool.name == CLAUDE_POOL:
            # Subscription windows reset for every replica at once: spread their comeback.
            seconds += jitter(seconds, self._draw)
        if status == 429 and limits.family is not None:
            family_until = pool.cool_family(fp, limits.family, seconds)
            if family_until is not None:
                logger.info(
                    LOG_FAMILY_COOLED,
                    pool.name,
                    fp,
                    limits.family,
                    seconds,
                    status,
                    limits.claim,
                    local_time(family_until - seconds),
                    local_time(family_until),
                )
                await self._share_limits(pool, fp)
            return
        cooldown = type(cooldown)(seconds, cooldown.reason)
        until = pool.cool(fp, cooldown.seconds, cooldown.reason)
        if cooldown.reason == "invalid":
            logger.warning(LOG_INVALID, pool.name, fp, status)
        else:
            start = until - cooldown.seconds if until is not None else self._clock()
            logger.info(
                LOG_COOLED,
                pool.name,
                fp,
                cooldown.seconds,
                cooldown.reason,
                status,
                local_time(start),
                local_time(until or start),
            )
        if self._shared is not None and until is not None:
            await self._shared.set_cooling(pool.name, fp, until, until - self._clock(), cooldown.reason)

    @staticmethod
    def _pool_exhausted(pool: TokenPool, state: dict[str, Any], family: str | None = None) -> float:
        """Every token of `pool` is cooling: remember and hint when to come back; the seconds until then."""
        retry_after = pool.seconds_until_available(family)
        state["retry_after"] = max(1, math.ceil(retry_after))
        hint_error_header("retry-after", str(state["retry_after"]))
        logger.warning(LOG_EXHAUSTED, pool.name, retry_after)
        return retry_after

    def _failover_callbacks(
        self, pool: TokenPool, state: dict[str, Any], url: str, family: str | None = None
    ) -> Callable[..., Any]:
        tried: set[str] = set()
        refreshed: set[str] = set()
        session = state.get("session")

        async def on_failure(lease: Lease, status: int, headers: Mapping[str, str]) -> Lease | None:
            tried.add(lease.fingerprint)
            if isinstance(state.get("failovers"), list):  # read by the request log
                state["failovers"].append(f"{pool.name} {lease.fingerprint} HTTP {status}")
            oauth = self._oauth
            if (
                status == 401
                and oauth is not None
                and oauth.manages(lease)
                and lease.fingerprint not in refreshed
            ):
                refreshed.add(lease.fingerprint)  # an expired access token: refresh and retry, once
                fresh = await oauth.after_unauthorized(pool, lease)
                if fresh is not None:
                    return fresh
                return await self.lease(pool, session, frozenset(tried))  # refresh failed: cooled
            await self.report_failure(pool, lease.fingerprint, status, headers)
            following = await self.lease(pool, session, frozenset(tried), family)
            if following is not None:  # the token that serves this attempt now (usage reads it)
                state["serving"] = following.fingerprint
            if following is None and status in (429, 529):
                raise pool_exhausted_error(pool.name, self._pool_exhausted(pool, state, family), url)
            return following

        return on_failure

    async def count_credential(self, headers: Mapping[str, str], user_api_key_dict: Any) -> str | None:
        """The Claude credential a count_tokens request may use on Anthropic's own API: a leased
        pool token in rotate mode, the client's own credential in passthrough, else None."""
        may_use_pool = may_use_claude_pool(user_api_key_dict)
        try:
            mode = decide_mode(self.settings, requested_mode(headers), may_use_pool, len(self.pool()))
        except (PermissionError, ValueError):
            return None
        if mode == "rotate":
            lease = await self.lease(self.pool(), session_of(headers, None))
            return lease.token if lease is not None else None
        return client_credential(headers)

    # -- hooks ---------------------------------------------------------------------------------
    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any, **kwargs: Any
    ) -> dict:
        request = data.get("proxy_server_request") or {}
        headers = request.get("headers") or {}
        may_use_pool = may_use_claude_pool(user_api_key_dict)
        auth_metadata = getattr(user_api_key_dict, "metadata", None) or {}
        try:
            mode = decide_mode(self.settings, requested_mode(headers), may_use_pool, len(self.pool()))
        except PermissionError as error:
            raise ProxyException(
                message=str(error),
                type="permission_error",
                param=MODE_HEADER,
                code=403,
                headers={"x-should-retry": "false"},
            ) from error
        except ValueError as error:
            raise ProxyException(
                message=str(error), type="invalid_request_error", param=MODE_HEADER, code=400
            ) from error
        self._refuse_without_claude_credential(
            data, mode, requested_mode(headers), may_use_pool, auth_metadata
        )
        session = session_of(headers, data.get("metadata"))
        metadata = request_metadata(data)
        if metadata is not None:
            metadata[METADATA_KEY] = {"mode": mode, "session": session, "leases": [], "failovers": []}
        return data

    def _refuse_without_claude_credential(
        self,
        data: Mapping[str, Any],
        mode: str,
        requested: str | None,
        may_use_pool: bool,
        auth_metadata: Mapping[str, Any],
    ) -> None:
        """401 with the fix, before routing (no fallback, no provider call), for a passthrough
        request to Anthropic's own API that carries no Claude credential."""
        reason = missing_credential_reason(
            mode, requested, may_use_pool, len(self.pool()), auth_metadata.get(CLIENT_CLAUDE_CREDENTIAL)
        )
        if reason is None or not needs_claude_credential(
            group_deployments(data.get("model")), self.settings.is_anthropic_api, os.environ
        ):
            return
        logger.warning(LOG_MISSING, data.get("model"), auth_metadata.get("proxy_token_name"), reason)
        hint_error_header("x-should-retry", "false")
        refusal = ProxyException(
            message=missing_credential_message(reason),
            type="authentication_error",
            param="authorization",
            code=401,
            headers={"x-should-retry": "false"},
        )
        install_log_filter()
        mark_explained(refusal)
        raise refusal

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any, **extra: Any
    ) -> dict | None:
        call = call_type_name(call_type)
        state = self._request_state(kwargs)
        state["serving"] = None  # set again below when this attempt leases a pooled token
        provider = provider_of(str(kwargs.get("model") or ""), kwargs.get("custom_llm_provider"))
        anthropic_api = provider == "anthropic" and self.settings.is_anthropic_api(kwargs.get("api_base"))
        mode = state.get("mode") or "passthrough"
        out = kwargs
        if not (anthropic_api and mode == "passthrough"):
            out, removed = strip_client_credentials(kwargs)
            if removed:
                logger.info(
                    LOG_STRIPPED,
                    removed,
                    kwargs.get("model"),
                    "rotate mode" if anthropic_api else "not Anthropic's API",
                )
        if anthropic_api and mode == "rotate" and not self._has_own_credential(kwargs):
            return await self._lease_into(out, self.pool(), state, call)
        group = self._model_group(kwargs)
        if group in self._group_pools:
            return await self._lease_into(out, self.pool(self._group_pools[group]), state, call)
        return out if out is not kwargs else None

    def _has_own_credential(self, kwargs: Mapping[str, Any]) -> bool:
        """The deployment declares its own key (pay-as-you-go after the subscription, say): it
        uses that key, and the Claude pool serves only deployments without one."""
        api_key = kwargs.get("api_key")
        if not isinstance(api_key, str) or not api_key.strip():
            return False
        assert self._pools is not None
        if any(pool.owns(api_key) for pool in self._pools.values()):
            return False  # a leased token left from an earlier attempt is not the deployment's
        # Only a key the operator wrote on the deployment counts, never one a client supplied.
        return declares_credential(kwargs) is not False

    async def _lease_into(
        self, kwargs: dict[str, Any], pool: TokenPool, state: dict[str, Any], call: str
    ) -> dict[str, Any]:
        session = state.get("session")
        family = model_family(str(kwargs.get("model") or "")) if pool.name == CLAUDE_POOL else None
        lease = await self.lease(pool, session, family=family)
        if lease is None:
            raise pool_exhausted_rate_limit_error(
                pool.name,
                self._pool_exhausted(pool, state, family),
                provider=str(kwargs.get("custom_llm_provider") or "anthropic"),
                model=str(kwargs.get("model")),
            )
        out = dict(kwargs)
        out["api_key"] = lease.token
        if isinstance(state.get("leases"), list):
            state["leases"].append(lease.fingerprint)
        state["serving"] = lease.fingerprint
        if call in ANTHROPIC_CALL_TYPES and pool.name == CLAUDE_POOL:
            from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, get_async_httpx_client
            from litellm.types.utils import LlmProviders

            inner = kwargs.get("client")
            if not isinstance(inner, AsyncHTTPHandler):
                inner = get_async_httpx_client(llm_provider=LlmProviders.ANTHROPIC)
            url = str(kwargs.get("api_base") or "https://api.anthropic.com") + "/v1/messages"
            out["client"] = PoolFailoverClient(
                inner,
                lease,
                self._failover_callbacks(pool, state, url, family),
                lambda done, headers: self._on_success(pool, done, headers),
            )
        return out

    async def _on_success(self, pool: TokenPool, lease: Lease, headers: Mapping[str, str]) -> None:
        pool.record_success(lease.fingerprint)
        await self.record_limits(pool, lease.fingerprint, headers)

    async def async_post_call_success_deployment_hook(
        self, request_data: dict, response: Any, call_type: Any, **kwargs: Any
    ) -> Any:
        """A pooled Claude token's answer outside the failover client (chat completions): keep
        the subscription windows its headers report. The response is left as it is."""
        if isinstance(request_data.get("client"), PoolFailoverClient) or self._pools is None:
            return None  # the failover client already read them
        pool = self._pools[CLAUDE_POOL]
        fp = pool.owns(request_data.get("api_key") if isinstance(request_data.get("api_key"), str) else None)
        if fp is not None:
            await self.record_limits(pool, fp, provider_response_headers(response))
        return None

    async def async_post_call_failure_deployment_hook(
        self,
        request_data: Mapping[str, Any],
        exception: Exception,
        call_type: Any,
        fallback_depth: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(request_data.get("client"), PoolFailoverClient):
            return  # the failover client already cooled what failed
        api_key = request_data.get("api_key")
        if not isinstance(api_key, str):
            return
        assert self._pools is not None
        for pool in self._pools.values():
            fp = pool.owns(api_key)
            if fp is None and self._oauth is not None and pool.name == CLAUDE_POOL:
                fp = self._oauth.refresher.owner_of(api_key)
            if fp is None:
                continue
            status, headers = _status_and_headers(exception)
            oauth = self._oauth
            if status == 401 and oauth is not None and oauth.refresher.manages(fp):
                # An expired OAuth access token: refresh it (the next attempt leases the new one)
                # instead of resting the login for hours; a failed refresh cools it itself.
                await oauth.after_unauthorized(pool, Lease(pool.name, fp, Secret(api_key)))
                return
            if status is not None:
                await self.report_failure(pool, fp, status, headers)
            return

    async def async_post_call_response_headers_hook(
        self, data: dict, user_api_key_dict: Any, response: Any, request_headers: Any = None, **kwargs: Any
    ) -> dict[str, str] | None:
        """On a failed request whose pool was exhausted: tell the client when to come back."""
        if response is not None:
            return None
        retry_after = self._request_state(data).get("retry_after")
        return {"retry-after": str(retry_after)} if retry_after else None

    @staticmethod
    def _request_state(kwargs: Mapping[str, Any]) -> dict[str, Any]:
        state = metadata_value(kwargs, METADATA_KEY, dict)
        return state if state is not None else {}

    @staticmethod
    def _model_group(kwargs: Mapping[str, Any]) -> str | None:
        return metadata_value(kwargs, MODEL_GROUP, str)
