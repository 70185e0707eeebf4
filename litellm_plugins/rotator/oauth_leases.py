"""The token rotator's side of OAuth refresh: turn a leased pool entry into its current access token.

No hook of its own: :class:`~litellm_plugins.rotator.hook.TokenRotator` calls :meth:`OAuthLeases.ready`
on every lease of a self-refreshing entry (the pool holds a placeholder for it, never a token)
and :meth:`OAuthLeases.after_unauthorized` when Anthropic answered 401 to its access token.
Settings: :mod:`litellm_plugins.rotator.oauth_settings`.

A refresh that fails is logged with the entry's fingerprint (never a token) and cools the entry,
so the rotator fails over to the next pooled token instead of failing the request: for hours
when the token endpoint refused the refresh token (a new login is needed), a minute when it was
unreachable or answered 5xx.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from litellm_plugins.core.redaction import Secret
from litellm_plugins.rotator.oauth_refresh import OAuthRefresher, RefreshFailed
from litellm_plugins.rotator.token_pool import Lease, TokenPool

logger = logging.getLogger(__name__)

REJECTED_SECONDS: Final = 6 * 3600.0
TRANSIENT_SECONDS: Final = 60.0
LOG_REFRESH_FAILED: Final = (
    "rotator: pool %s entry %s: OAuth refresh failed (%s); cooling %.0fs and failing over%s"
)
HINT_NEW_LOGIN: Final = (
    ": log in again (`claude login`) and replace this entry in CLAUDE_OAUTH_CREDENTIALS / CLAUDE_OAUTH_PAIRS"
)

# (pool, fingerprint, seconds, reason): rest the entry here and in the shared state.
Cool = Callable[[TokenPool, str, float, str], Awaitable[None]]


class OAuthLeases:
    def __init__(self, refresher: OAuthRefresher, cool: Cool) -> None:
        self.refresher = refresher
        self._cool = cool

    def manages(self, lease: Lease) -> bool:
        return self.refresher.manages(lease.fingerprint)

    async def ready(self, pool: TokenPool, lease: Lease) -> Lease | None:
        """The lease with the entry's current access token (refreshed if it expires soon);
        None when the refresh failed (logged, the entry cooled)."""
        try:
            access = await self.refresher.access_token(lease.fingerprint)
        except RefreshFailed as failure:
            await self._failed(pool, lease, failure)
            return None
        return replace(lease, secret=Secret(access))

    async def after_unauthorized(self, pool: TokenPool, lease: Lease) -> Lease | None:
        """Anthropic refused the lease's access token: the same entry with a new one, or None."""
        try:
            access = await self.refresher.after_unauthorized(lease.fingerprint, lease.token)
        except RefreshFailed as failure:
            await self._failed(pool, lease, failure)
            return None
        return replace(lease, secret=Secret(access))

    async def _failed(self, pool: TokenPool, lease: Lease, failure: RefreshFailed) -> None:
        seconds = REJECTED_SECONDS if failure.rejected else TRANSIENT_SECONDS
        logger.warning(
            LOG_REFRESH_FAILED,
            pool.name,
            lease.fingerprint,
            failure.reason,
            seconds,
            HINT_NEW_LOGIN if failure.rejected else "",
        )
        await self._cool(
            pool, lease.fingerprint, seconds, "refresh_rejected" if failure.rejected else "refresh_failed"
        )
