"""Refresh Claude OAuth access tokens from refresh tokens, once per pair across every worker.

No hook of its own: the token rotator (:mod:`litellm_plugins.rotator.hook`) asks
:meth:`OAuthRefresher.access_token` for a pool entry's current access token before each lease
and :meth:`OAuthRefresher.after_unauthorized` when Anthropic answered 401 with it. Settings:
:mod:`litellm_plugins.rotator.oauth_settings` (`CLAUDE_OAUTH_CREDENTIALS`, `CLAUDE_OAUTH_PAIRS`,
`CLAUDE_OAUTH_STORE`, `CLAUDE_OAUTH_TOKEN_URL`, `CLAUDE_OAUTH_REFRESH_MARGIN`).

The protocol is Claude Code's own (2.1.x): `POST https://platform.claude.com/v1/oauth/token`
with the JSON body `{"grant_type": "refresh_token", "refresh_token", "client_id", "scope"}`;
the answer has `access_token`, `expires_in` (seconds), usually a new `refresh_token` (the old one
is then spent; when absent the old one stays valid) and `scope`. Failures are OAuth errors
(`{"error": "invalid_grant", "error_description": ...}`).

One refresh per pair: an in-process `asyncio.Lock` per entry, then the store's lock (a file
lock or Redis `SET NX PX`); whoever gets it first reads the store again, and when another worker
already stored a newer pair it takes that one instead of spending the refresh token a second
time. A refresh that fails raises :class:`RefreshFailed` (logged with the entry's fingerprint by
the rotator, which cools the entry and fails over); it never carries a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import httpx

from litellm_plugins.rotator.credential_store import CredentialStore, OAuthPair

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_URL: Final = "https://platform.claude.com/v1/oauth/token"
CLAUDE_CODE_CLIENT_ID: Final = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
# The scopes Claude Code 2.1 asks for when it refreshes a claude.ai login.
DEFAULT_SCOPES: Final = (
    "user:profile",
    "user:inference",
    "user:sessions:claude_code",
    "user:mcp_servers",
    "user:file_upload",
)
DEFAULT_MARGIN_SECONDS: Final = 300.0
REQUEST_TIMEOUT_SECONDS: Final = 15.0
LOG_REFRESHED: Final = "oauth refresh: entry %s refreshed; the access token now expires at %s"
LOG_STORE_FAILED: Final = (
    "oauth refresh: %s the credential store for entry %s failed (%s); using this process's pair"
)
LOG_ADOPTED: Final = "oauth refresh: entry %s took the pair another worker refreshed"
LOG_SAVE_FAILED: Final = (
    "oauth refresh: entry %s was refreshed but the credential store refused it (%s): fix "
    "CLAUDE_OAUTH_STORE, or this entry needs a new login after a restart"
)


class RefreshFailed(Exception):
    """The token endpoint did not renew a pair. `rejected`: the refresh token itself is refused
    (`invalid_grant` and the like, the operator must log in again); otherwise transient."""

    def __init__(self, reason: str, rejected: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rejected = rejected


def needs_refresh(pair: OAuthPair, now: float, margin: float) -> bool:
    """Whether the access token expires within `margin` seconds (unknown expiry: no)."""
    return pair.expires_at is not None and pair.expires_at - margin <= now


def refresh_body(pair: OAuthPair, client_id: str) -> dict[str, str]:
    scopes = pair.scopes or DEFAULT_SCOPES
    return {
        "grant_type": "refresh_token",
        "refresh_token": pair.refresh_token,
        "client_id": client_id,
        "scope": " ".join(scopes),
    }


def refreshed_pair(payload: Any, previous: OAuthPair, now: float) -> OAuthPair:
    """The new pair from the token endpoint's answer; raises RefreshFailed if it is not one."""
    if not isinstance(payload, Mapping):
        raise RefreshFailed("the token endpoint answered something that is not a JSON object", False)
    access = payload.get("access_token")
    expires_in = payload.get("expires_in")
    if not isinstance(access, str) or not access:
        raise RefreshFailed("the token endpoint's answer has no access_token", False)
    refresh = payload.get("refresh_token")
    scope = payload.get("scope")
    return replace(
        previous,
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous.refresh_token,
        expires_at=now + float(expires_in)
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
        else None,
        scopes=tuple(scope.split()) if isinstance(scope, str) and scope.strip() else previous.scopes,
    )


def failure_of(response: httpx.Response) -> RefreshFailed:
    """What a non-200 answer means, from its OAuth error code (never echoes the body's tokens)."""
    code = ""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        error = payload.get("error")
        if isinstance(error, Mapping):  # some gateways wrap it Anthropic-style
            error = error.get("type")
        code = error if isinstance(error, str) else ""
    # 4xx: the token endpoint refused this refresh token (spent, revoked, wrong client): a new
    # login is needed. 429 and 5xx: try again later.
    rejected = response.status_code in (400, 401, 403)
    safe_code = code if code.replace("_", "").isalnum() and len(code) < 40 else "?"
    return RefreshFailed(f"HTTP {response.status_code} {safe_code or 'no error code'}", rejected)


async def request_refresh(
    client: httpx.AsyncClient, url: str, pair: OAuthPair, client_id: str, now: float
) -> OAuthPair:
    try:
        response = await client.post(
            url,
            json=refresh_body(pair, client_id),
            headers={"content-type": "application/json", "accept": "application/json"},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise RefreshFailed(f"token endpoint unreachable ({type(error).__name__})", False) from None
    if response.status_code != 200:
        raise failure_of(response)
    try:
        payload = response.json()
    except ValueError:
        raise RefreshFailed("the token endpoint's answer is not JSON", False) from None
    return refreshed_pair(payload, pair, now)


@dataclass
class _Entry:
    pair: OAuthPair
    loaded: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OAuthRefresher:
    """The current pair of every OAuth pool entry, by its (stable) fingerprint."""

    def __init__(
        self,
        pairs: Mapping[str, OAuthPair],
        store: CredentialStore,
        token_url: str = DEFAULT_TOKEN_URL,
        client_id: str = CLAUDE_CODE_CLIENT_ID,
        margin: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        http_client: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self._entries = {fp: _Entry(pair) for fp, pair in pairs.items()}
        self._store = store
        self._token_url = token_url
        self._client_id = client_id
        self._margin = margin
        self._clock = clock
        # The HTTP client factory for the token endpoint (unit tests give an in-process one).
        self.http_client = http_client or (lambda: httpx.AsyncClient(trust_env=True))
        self.refreshes = 0  # refresh calls this process made (the token endpoint's answer aside)

    @property
    def entries(self) -> Sequence[str]:
        return list(self._entries)

    def manages(self, fp: str) -> bool:
        return fp in self._entries

    def owner_of(self, access_token: str) -> str | None:
        """The entry whose current access token this is (for failures seen outside the pool client)."""
        for fp, entry in self._entries.items():
            if entry.pair.access_token == access_token:
                return fp
        return None

    def expires_at(self, fp: str) -> float | None:
        return self._entries[fp].pair.expires_at

    async def access_token(self, fp: str) -> str:
        """The entry's access token, refreshed first when it expires within the margin."""
        entry = self._entries[fp]
        if not entry.loaded:
            async with entry.lock:
                await self._load(fp, entry)
        if needs_refresh(entry.pair, self._clock(), self._margin):
            await self._refresh(fp, entry, rejected=None)
        return entry.pair.access_token

    async def after_unauthorized(self, fp: str, rejected_access: str) -> str:
        """Anthropic refused `rejected_access` (401): a pair whose access token is not that one."""
        entry = self._entries[fp]
        await self._refresh(fp, entry, rejected=rejected_access)
        return entry.pair.access_token

    async def _load(self, fp: str, entry: _Entry) -> None:
        if entry.loaded:
            return
        try:
            stored = await self._store.load(fp)
        except Exception as error:  # noqa: BLE001 - serve the pair this process has; try again next time
            logger.warning(LOG_STORE_FAILED, "reading", fp, type(error).__name__)
            return
        if stored is not None:
            entry.pair = stored  # refreshed from the configured pair earlier: newer than it
        entry.loaded = True

    def _usable(self, pair: OAuthPair, rejected: str | None) -> bool:
        if rejected is not None:
            return pair.access_token != rejected
        return not needs_refresh(pair, self._clock(), self._margin)

    async def _refresh(self, fp: str, entry: _Entry, rejected: str | None) -> None:
        async with entry.lock:  # one coroutine of this process at a time; the others wait here
            if entry.loaded and self._usable(entry.pair, rejected):
                return  # refreshed while this one waited
            try:
                async with self._store.lock(fp):  # every worker: one refresh per pair
                    await self._refresh_locked(fp, entry, rejected)
            except RefreshFailed:
                raise
            except Exception as error:  # noqa: BLE001 - a store outage fails this refresh, not the request
                raise RefreshFailed(f"credential store unavailable ({type(error).__name__})", False) from None

    async def _refresh_locked(self, fp: str, entry: _Entry, rejected: str | None) -> None:
        stored = await self._store.load(fp)
        entry.loaded = True
        if stored is not None and stored.refresh_token != entry.pair.refresh_token:
            entry.pair = stored
            logger.info(LOG_ADOPTED, fp)
        if self._usable(entry.pair, rejected):
            return
        self.refreshes += 1
        async with self.http_client() as client:
            fresh = await request_refresh(client, self._token_url, entry.pair, self._client_id, self._clock())
        entry.pair = fresh  # the old refresh token may be spent now: never go back to it
        try:
            await self._store.save(fp, fresh)
        except Exception as error:  # noqa: BLE001 - keep serving; the operator must fix the store
            logger.error(LOG_SAVE_FAILED, fp, type(error).__name__)
        logger.info(LOG_REFRESHED, fp, "unknown" if fresh.expires_at is None else _utc(fresh.expires_at))


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
