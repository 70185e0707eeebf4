"""The limit decisions for one client: admit a request (or refuse it, saying when to come back),
hold and free its concurrency slot, count its tokens, allow or refuse a model group.

Order of the checks on admission: the day's token budget (a read), then the concurrency slot, then
the requests-per-minute window; a request refused by one check is counted by none of the later ones,
and a slot taken before a requests-per-minute refusal is given back at once, so a limit refuses the
request that crosses it and no other.

- `requests_per_minute`: a sliding window of 60 s over the requests admitted; the request over the
  limit is refused with `retry-after` = the seconds until the oldest counted one leaves the window.
- `max_concurrent`: requests in flight, from admission until the response is complete (the last
  byte of a stream) or the client disconnects; `retry-after: 1`.
- `tokens_per_day`: input + output + cache tokens as the provider reported them, counted when each
  request completes; the request that crosses the budget is served (its size is not known before),
  the next is refused until 00:00 UTC (`retry-after` = the seconds until then, `x-should-retry: false`).
- `model_groups`: globs on the model group that serves each attempt (403, never retried).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from litellm_plugins.limits.metrics import RefusalCounter
from litellm_plugins.limits.settings import ClientLimits, LimitSettings
from litellm_plugins.limits.store import FallbackLimitStore, Slot
from litellm_plugins.limits.windows import retry_after_seconds, seconds_until_next_utc_day, utc_day

logger = logging.getLogger(__name__)

LOG_REFUSED: Final = "limits: refused client %s: %s (%s)"
FIX: Final = "the limits are in litellm_plugins.clients in config.yaml"


@dataclass(frozen=True)
class Refusal:
    client: str
    limit: (
        str  # the setting that refused: requests_per_minute | tokens_per_day | max_concurrent | model_groups
    )
    status: int
    message: str
    retry_after: int | None = None
    should_retry: bool = True


@dataclass(frozen=True)
class Admission:
    client: str
    slot: Slot | None = None


class Limiter:
    def __init__(
        self,
        settings: LimitSettings,
        store: FallbackLimitStore,
        refusals: RefusalCounter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.refusals = refusals if refusals is not None else RefusalCounter()
        self._clock = clock

    def limits_for(self, client: str) -> ClientLimits | None:
        return self.settings.for_client(client)

    def _refuse(self, refusal: Refusal) -> Refusal:
        self.refusals.count(refusal.client, refusal.limit)
        logger.warning(LOG_REFUSED, refusal.client, refusal.limit, refusal.message)
        return refusal

    async def admit(self, client: str) -> Admission | Refusal:
        """Count one request of `client`; an Admission holds its slot until :meth:`release`."""
        limits = self.limits_for(client)
        if limits is None:
            return Admission(client)
        now = self._clock()
        if limits.tokens_per_day is not None:
            used = await self.store.tokens_used(client, utc_day(now))
            if used >= limits.tokens_per_day:
                wait = retry_after_seconds(seconds_until_next_utc_day(now))
                return self._refuse(
                    Refusal(
                        client,
                        "tokens_per_day",
                        429,
                        f"Client {client!r} has used {used} of its {limits.tokens_per_day} tokens for today "
                        f"(UTC); the budget renews at 00:00 UTC, in {wait}s ({FIX}).",
                        wait,
                        should_retry=False,
                    )
                )
        slot = None
        if limits.max_concurrent is not None:
            slot = await self.store.take_slot(client, uuid.uuid4().hex, limits.max_concurrent, now)
            if slot is None:
                return self._refuse(
                    Refusal(
                        client,
                        "max_concurrent",
                        429,
                        f"Client {client!r} already has {limits.max_concurrent} requests in flight, its "
                        f"max_concurrent; retry when one of them finishes ({FIX}).",
                        1,
                    )
                )
        if limits.requests_per_minute is not None:
            wait_seconds = await self.store.take_request(client, limits.requests_per_minute, now)
            if wait_seconds is not None:
                if slot is not None:
                    await self.store.release_slot(slot)
                wait = retry_after_seconds(wait_seconds)
                return self._refuse(
                    Refusal(
                        client,
                        "requests_per_minute",
                        429,
                        f"Client {client!r} is over its limit of {limits.requests_per_minute} requests per "
                        f"minute; retry in {wait}s ({FIX}).",
                        wait,
                    )
                )
        return Admission(client, slot)

    async def renew(self, admission: Admission) -> None:
        if admission.slot is not None:
            await self.store.renew_slot(admission.slot, self._clock())

    async def release(self, admission: Admission) -> None:
        if admission.slot is not None:
            await self.store.release_slot(admission.slot)

    def group_refusal(self, client: str, group: str) -> Refusal | None:
        """A 403 when `client` may not use model `group` (checked on every attempt, fallbacks included)."""
        limits = self.limits_for(client)
        if limits is None or limits.allows_group(group):
            return None
        allowed = ", ".join(limits.model_groups or ())
        return self._refuse(
            Refusal(
                client,
                "model_groups",
                403,
                f"Client {client!r} may not use model group {group!r}; its model_groups are: {allowed} "
                f"({FIX}).",
                should_retry=False,
            )
        )

    def counts_tokens(self, client: str) -> bool:
        limits = self.limits_for(client)
        return limits is not None and limits.tokens_per_day is not None

    async def record_tokens(self, client: str, tokens: int) -> None:
        """Add what the provider reported for one completed request to `client`'s day."""
        if tokens > 0 and self.counts_tokens(client):
            await self.store.add_tokens(client, utc_day(self._clock()), tokens)
