"""Static-token auth: the `general_settings.custom_auth` hook that decides who may use the proxy.

    general_settings:
      master_key: os.environ/LITELLM_MASTER_KEY
      custom_auth: litellm_plugins.hooks.user_api_key_auth

Settings: see :mod:`litellm_plugins.auth.proxy_tokens` (`PROXY_STATIC_TOKEN`, `PROXY_STATIC_TOKENS`,
`PROXY_AUTH_OPEN`, ...), read once when the plugin loads; the master key is the running proxy's.

A client sends its proxy token in `x-litellm-api-key`, `Authorization: Bearer` or `x-api-key`,
whichever carries it. Claude credentials (`sk-ant-...`: an OAuth bearer or an API key) are the
client's own, for passthrough: they never authenticate and never make a request fail. The
identity is the token's name (LiteLLM `user_id` and key alias); request metadata carries the
name, the pool permission and a fingerprint, never the token.

- The client routes of :mod:`litellm_plugins.client_routes`, an explicit allow-list
  (`/v1/messages`, `/v1/messages/count_tokens`, `/v1/chat/completions`, `/chat/completions`,
  `/v1/models`, `/models`): a registered token or `LITELLM_MASTER_KEY`. With no token configured:
  loopback peers only (the socket's address, never `X-Forwarded-For`), or everyone with
  `PROXY_AUTH_OPEN=true`.
- Every other route (LiteLLM's provider pass-through routes such as `/openai/*` or
  `/anthropic/*`, key, user, model and UI management, any route a newer LiteLLM adds):
  `LITELLM_MASTER_KEY` only; 403 for a valid proxy token, 401 otherwise.

:meth:`StaticTokenAuth.refusal` gives the same decision on a raw ASGI scope, so the request
guard can refuse a client before LiteLLM routes the request and before any body is read
(LiteLLM reads and parses the body before it calls `custom_auth`, and serves some routes with no
authentication at all).

Failures raise LiteLLM's `ProxyException` (401/403; a plain exception would answer 500) with
`x-should-retry: false`, which Claude Code and the Anthropic SDK honour (without it Claude Code
retries a 401 ten times); the protocol error layer gives `/v1/messages` Anthropic's error shape.
"""

from __future__ import annotations

import hmac
import logging
import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final

from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
from starlette.requests import HTTPConnection

from litellm_plugins.auth.proxy_tokens import (
    CLIENT_CREDENTIAL_PREFIX,
    LOOPBACK_NAME,
    OPEN_NAME,
    AuthSettings,
    ProxyToken,
    is_loopback,
    load_auth_settings,
)
from litellm_plugins.core.claude_credential import CLIENT_CLAUDE_CREDENTIAL
from litellm_plugins.core.client_routes import is_client_route
from litellm_plugins.core.metadata_keys import MAY_USE_CLAUDE_POOL, PROXY_TOKEN_NAME, TOKEN_FINGERPRINT
from litellm_plugins.core.proxy import running_master_key
from litellm_plugins.core.redaction import fingerprint
from litellm_plugins.core.settings import NotStartedError

logger = logging.getLogger(__name__)

TOKEN_HEADERS: Final = ("x-litellm-api-key", "authorization", "x-api-key")
NO_RETRY: Final = {"x-should-retry": "false"}
MASTER_NAME: Final = "litellm-master-key"
SEND_TOKEN: Final = (
    "send the token from PROXY_STATIC_TOKEN (or your entry in PROXY_STATIC_TOKENS) in the x-litellm-api-key "
    'header; Claude Code: ANTHROPIC_CUSTOM_HEADERS="x-litellm-api-key: <token>"'
)
MESSAGE_MISSING: Final = "No proxy token: " + SEND_TOKEN
MESSAGE_CLIENT_CREDENTIAL_ONLY: Final = (
    "Only a Claude credential was sent; it is passed through to Anthropic and is not a proxy token: "
    + SEND_TOKEN
)
MESSAGE_INVALID: Final = "Invalid proxy token: " + SEND_TOKEN
MESSAGE_NOT_LOOPBACK: Final = (
    "This proxy has no token configured and serves clients on this machine only: set PROXY_STATIC_TOKEN "
    "(generate one with `openssl rand -hex 24`) and send it in the x-litellm-api-key header, or set "
    "PROXY_AUTH_OPEN=true on a trusted network"
)
MESSAGE_ADMIN_ONLY: Final = (
    "This route is for the proxy admin: send LITELLM_MASTER_KEY as `Authorization: Bearer`"
)
LOG_REJECTED: Final = "auth: rejected %s %s from %s (credentials %s): %s"
LOG_ACCEPTED: Final = "auth: %s (%s) on %s"
LOG_OPEN: Final = (
    "auth: PROXY_AUTH_OPEN=true and no proxy token configured: every client that reaches this port is served"
)


def credential_candidates(headers: Mapping[str, str]) -> tuple[list[str], bool]:
    """Values that may be a proxy token, and whether a Claude client credential was skipped."""
    candidates: list[str] = []
    skipped_client_credential = False
    for name in TOKEN_HEADERS:
        value = (headers.get(name) or "").strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        elif name == "authorization":
            value = ""  # Basic or another scheme: never a proxy token
        if not value:
            continue
        if value.startswith(CLIENT_CREDENTIAL_PREFIX):
            skipped_client_credential = True
            continue
        candidates.append(value)
    return candidates, skipped_client_credential


def identity(name: str, may_use_pool: bool, token_fingerprint: str, admin: bool = False) -> UserAPIKeyAuth:
    metadata: dict[str, Any] = {
        PROXY_TOKEN_NAME: name,
        MAY_USE_CLAUDE_POOL: may_use_pool,
        TOKEN_FINGERPRINT: token_fingerprint,
    }
    return UserAPIKeyAuth(
        api_key=token_fingerprint,
        user_id=name,
        key_alias=name,
        metadata=metadata,
        user_role=LitellmUserRoles.PROXY_ADMIN if admin else None,
    )


def auth_error(message: str, code: int = 401) -> ProxyException:
    # Claude Code retries a 401 up to ten times unless told not to; a wrong token stays wrong.
    return ProxyException(
        message=message, type="auth_error", param="api_key", code=code, headers=dict(NO_RETRY)
    )


class StaticTokenAuth:
    """The auth decision; `user_api_key_auth` is the coroutine LiteLLM calls per request."""

    def __init__(
        self, settings: AuthSettings | None = None, master_key: Callable[[], str | None] = running_master_key
    ) -> None:
        self._settings = settings
        self.master_key = master_key

    def configure(self, environ: Mapping[str, str] | None = None) -> None:
        """Read and validate the proxy tokens, once (at proxy startup; raises SettingsError with a fix)."""
        if self._settings is not None:
            return
        settings = load_auth_settings(environ)
        if settings.mode == "open":
            logger.warning(LOG_OPEN)
        else:
            names = (
                ", ".join(token.name for token in settings.registry.tokens) or "none: loopback clients only"
            )
            logger.info("auth: proxy tokens: %s", names)
        self._settings = settings

    @property
    def settings(self) -> AuthSettings:
        if self._settings is None:
            raise NotStartedError("the static-token auth")
        return self._settings

    def authenticate(self, headers: Mapping[str, str], peer: str | None, route: str) -> UserAPIKeyAuth:
        candidates, skipped_client_credential = credential_candidates(headers)
        master = self.master_key()
        master_bytes = master.encode("utf-8", "surrogatepass") if master else None
        matched: ProxyToken | None = None
        master_fingerprint: str | None = None
        for candidate in candidates:
            token = self.settings.registry.match(candidate)
            matched = matched or token
            if master_bytes is not None and hmac.compare_digest(
                candidate.encode("utf-8", "surrogatepass"), master_bytes
            ):
                master_fingerprint = fingerprint(candidate)
        if master_fingerprint is not None:
            logger.debug(LOG_ACCEPTED, MASTER_NAME, master_fingerprint, route)
            return identity(MASTER_NAME, True, master_fingerprint, admin=True)
        if not is_client_route(route):
            if matched is not None:
                raise self._rejection(route, peer, candidates, MESSAGE_ADMIN_ONLY, 403)
            raise self._rejection(route, peer, candidates, MESSAGE_ADMIN_ONLY)
        if matched is not None:
            logger.debug(LOG_ACCEPTED, matched.name, matched.fingerprint, route)
            return identity(matched.name, matched.may_use_pool, matched.fingerprint)
        mode = self.settings.mode
        if mode == "open":
            return identity(OPEN_NAME, self.settings.default_may_use_pool, "fp:none")
        if mode == "loopback":
            if is_loopback(peer):
                return identity(LOOPBACK_NAME, self.settings.default_may_use_pool, "fp:none")
            raise self._rejection(route, peer, candidates, MESSAGE_NOT_LOOPBACK)
        if candidates:
            raise self._rejection(route, peer, candidates, MESSAGE_INVALID)
        message = MESSAGE_CLIENT_CREDENTIAL_ONLY if skipped_client_credential else MESSAGE_MISSING
        raise self._rejection(route, peer, candidates, message)

    @staticmethod
    def _rejection(
        route: str, peer: str | None, candidates: list[str], message: str, code: int = 401
    ) -> ProxyException:
        prints = ", ".join(fingerprint(candidate) for candidate in candidates) or "none"
        logger.warning(LOG_REJECTED, code, route, peer or "unknown peer", prints, message.split(":")[0])
        return auth_error(message, code)

    async def user_api_key_auth(self, request: Any, api_key: str, **kwargs: Any) -> UserAPIKeyAuth:
        """LiteLLM's `custom_auth` signature; `api_key` is ignored: every header is read here."""
        from litellm.proxy.auth.auth_utils import get_request_route

        if self._settings is None:  # fail closed: an auth that never read its tokens lets no one in
            raise auth_error(str(NotStartedError("the static-token auth")))
        peer = request.client.host if request.client is not None else None
        result = self.authenticate(request.headers, peer, get_request_route(request))
        # For the rotator's "no Claude credential" 401 (LiteLLM redacts these headers later).
        if isinstance(result.metadata, dict):
            result.metadata[CLIENT_CLAUDE_CREDENTIAL] = credential_candidates(request.headers)[1]
        return result

    def is_running_auth(self) -> bool:
        """Whether the running proxy's `custom_auth` is this instance (else its decision is not ours)."""
        proxy_server = sys.modules.get("litellm.proxy.proxy_server")
        configured = getattr(proxy_server, "user_custom_auth", None) if proxy_server is not None else None
        return configured is not None and configured == self.user_api_key_auth

    def client_names(self) -> frozenset[str]:
        """The names a client can have here: every proxy token's, and the anonymous identities'."""
        return frozenset({token.name for token in self.settings.registry.tokens} | {LOOPBACK_NAME, OPEN_NAME})

    def client_name(self, scope: MutableMapping[str, Any]) -> str | None:
        """The client (proxy token name) `custom_auth` lets in on this ASGI request; None for the
        master key, a request it refuses, or when the running proxy uses another `custom_auth`."""
        if self._settings is None or not self.is_running_auth():
            return None
        from litellm.proxy.auth.auth_utils import get_request_route

        connection = HTTPConnection(scope)
        peer = connection.client.host if connection.client is not None else None
        try:
            result = self.authenticate(connection.headers, peer, get_request_route(connection))  # type: ignore[arg-type]
        except ProxyException:
            return None
        if result.user_role == LitellmUserRoles.PROXY_ADMIN:
            return None
        return result.user_id

    def refusal(self, scope: MutableMapping[str, Any]) -> tuple[int, str] | None:
        """(status, message) when `custom_auth` would refuse this ASGI request, else None.

        For the request guard, which asks before it reads the body. None as well when the
        running proxy uses another `custom_auth`: LiteLLM then decides, as it always does.
        """
        if not self.is_running_auth():
            return None
        from litellm.proxy.auth.auth_utils import get_request_route

        connection = HTTPConnection(scope)
        peer = connection.client.host if connection.client is not None else None
        try:
            route = get_request_route(connection)  # type: ignore[arg-type]  # reads only the scope
            self.authenticate(connection.headers, peer, route)
        except ProxyException as error:
            return int(error.code or 401), str(error.message)
        return None
