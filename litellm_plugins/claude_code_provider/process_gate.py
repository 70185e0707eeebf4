"""A bound on Claude Code processes running at once, with a bounded, timed queue in front.

A request takes a slot with `async with gate.slot():`. When every slot is taken it waits in
line; when the line is full it is refused at once with :class:`GateFull` (a 429: come back
later), and when it waited `queue_seconds` without a slot it gets :class:`GateTimeout` (a 503).
State is this object's (one per proxy worker); asyncio runs it on one thread, so no lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

BUSY_RETRY_SECONDS: Final = 5


class GateFull(Exception):
    """Every process slot is busy and the queue is full."""


class GateTimeout(Exception):
    """The request waited its whole queue time without getting a process slot."""


class ProcessGate:
    def __init__(self, max_running: int, max_waiting: int, queue_seconds: float) -> None:
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.queue_seconds = queue_seconds
        self._slots = asyncio.Semaphore(max_running)
        self.running = 0
        self.waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() or self.waiting:
            if self.waiting >= self.max_waiting:
                raise GateFull(
                    f"the claude-code provider is at its limit: {self.running} Claude Code process(es) "
                    f"running and {self.waiting} request(s) queued (CLAUDE_CODE_PROVIDER_MAX_PROCESSES="
                    f"{self.max_running}, CLAUDE_CODE_PROVIDER_MAX_QUEUE={self.max_waiting}); retry shortly"
                )
            self.waiting += 1
            try:
                async with asyncio.timeout(self.queue_seconds):
                    await self._slots.acquire()
            except TimeoutError as error:
                raise GateTimeout(
                    f"no Claude Code process slot came free within {self.queue_seconds:g}s "
                    "(CLAUDE_CODE_PROVIDER_QUEUE_SECONDS); retry later, or raise "
                    "CLAUDE_CODE_PROVIDER_MAX_PROCESSES"
                ) from error
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()  # a free slot: taken at once, no suspension
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()
