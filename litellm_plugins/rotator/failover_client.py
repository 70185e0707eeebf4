"""Failover inside one client request: a 429 on one pooled token retries at once with the next.

LiteLLM's own retries reuse the same credential, and with a single deployment its router sleeps
for the `retry-after` it was told before trying again. This wrapper sits where LiteLLM sends the
Anthropic request (it passes it as the per-call `client`): when the upstream answers 429, 529,
401 or 403 before anything reached the client, the credential is cooled and the same request is
sent again with the next healthy token of the pool. When the whole pool is cooling the client
gets a 429 whose `retry-after` says when the first token frees up.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import httpx
import litellm
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

from litellm_plugins.rotator.token_pool import Lease

logger = logging.getLogger(__name__)

FAILOVER_STATUSES: Final = frozenset({401, 403, 429, 529})
ANTHROPIC_MESSAGES_URL: Final = "https://api.anthropic.com/v1/messages"
LOG_FAILOVER: Final = "rotator: pool %s token %s answered %s; retrying with %s"

# Called with (lease, status, response headers); cools the token and returns the next lease.
OnFailure = Callable[[Lease, int, Mapping[str, str]], Awaitable[Lease | None]]
# Called with (lease, response headers) once the upstream accepted the request (the headers
# carry the subscription's unified rate-limit windows); may be a coroutine function.
OnSuccess = Callable[[Lease, Mapping[str, str]], Awaitable[None] | None]


def pool_exhausted_response(
    pool: str, retry_after: float, url: str = ANTHROPIC_MESSAGES_URL
) -> httpx.Response:
    """The 429 a whole cooling pool answers with, in Anthropic's error shape (the one place it is built)."""
    seconds = max(1, math.ceil(retry_after))
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": f"Every credential in the {pool} pool is rate limited; retry in {seconds}s.",
        },
    }
    request = httpx.Request("POST", url)
    return httpx.Response(
        429,
        # No retry-after header here: LiteLLM's router would sleep that long before a pointless
        # retry. The client gets it from the rotator's error-header hint instead.
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        request=request,
    )


def pool_exhausted_error(
    pool: str, retry_after: float, url: str = ANTHROPIC_MESSAGES_URL
) -> httpx.HTTPStatusError:
    """Raised inside the HTTP client (an attempt in flight): LiteLLM maps it like an upstream 429."""
    response = pool_exhausted_response(pool, retry_after, url)
    return httpx.HTTPStatusError(
        response.json()["error"]["message"], request=response.request, response=response
    )


def pool_exhausted_rate_limit_error(
    pool: str, retry_after: float, provider: str, model: str, url: str = ANTHROPIC_MESSAGES_URL
) -> litellm.RateLimitError:
    """Raised before an attempt (no lease to send): LiteLLM's own 429, with the same response."""
    response = pool_exhausted_response(pool, retry_after, url)
    return litellm.RateLimitError(
        message=response.json()["error"]["message"], llm_provider=provider, model=model, response=response
    )


def with_token(headers: Mapping[str, Any] | None, old: str, new: str) -> dict[str, Any]:
    """Headers with every occurrence of the old credential replaced by the new one."""
    updated: dict[str, Any] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, str) and old and old in value and name.lower() in ("authorization", "x-api-key"):
            value = value.replace(old, new)
        updated[name] = value
    return updated


class PoolFailoverClient(AsyncHTTPHandler):
    """An `AsyncHTTPHandler` that delegates to LiteLLM's shared one (no client of its own)."""

    def __init__(
        self, inner: AsyncHTTPHandler, lease: Lease, on_failure: OnFailure, on_success: OnSuccess
    ) -> None:
        # Deliberately not calling super().__init__: that would open a new connection pool per
        # request. Every attribute LiteLLM reads comes from the shared handler.
        self._inner = inner
        self._lease = lease
        self._on_failure = on_failure
        self._on_success = on_success
        self.attempts: list[str] = []

    # The wrapper owns no connection: LiteLLM's handler finalizer and close() would otherwise
    # run on the shared client it delegates to and cut every stream in flight on it.
    def __del__(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        # AttributeError, not KeyError, before `_inner` is set: copy, pickle and hasattr rely on it.
        try:
            inner = self.__dict__["_inner"]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(inner, name)

    async def post(self, url: str, *args: Any, headers: dict | None = None, **kwargs: Any) -> httpx.Response:
        lease = self._lease
        current_headers = dict(headers or {})
        while True:
            self.attempts.append(lease.fingerprint)
            try:
                response = await self._inner.post(url, *args, headers=current_headers, **kwargs)
            except httpx.HTTPStatusError as error:
                status = error.response.status_code
                if status not in FAILOVER_STATUSES:
                    raise
                following = await self._on_failure(lease, status, dict(error.response.headers))
                if following is None:
                    raise
                logger.info(LOG_FAILOVER, lease.pool, lease.fingerprint, status, following.fingerprint)
                current_headers = with_token(current_headers, lease.token, following.token)
                lease = following
                continue
            done = self._on_success(lease, response.headers)
            if inspect.isawaitable(done):
                await done
            return response
