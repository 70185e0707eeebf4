"""A bounded burst (500 requests, concurrency 32, streaming and not) while one pooled
credential flaps between 429 and healthy: every request succeeds or gets a protocol error with a
cause; no 500s; nothing hangs; afterwards no token is stuck cooling and the flapping token was
not used while it was cooling."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.harness import MASTER_KEY, ProxyProcess
from tests.integration.test_rotator_proxy import leases_during_cooldowns
from tests.reliability.conftest import CLIENT_TOKEN, POOL, Hygiene
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUESTS = 500
CONCURRENCY = 32
FLAP_SECONDS = 1.0
CLIENT_TIMEOUT = 60.0


async def burst(proxy: ProxyProcess) -> list[tuple[int, str]]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    headers = {
        "x-litellm-api-key": CLIENT_TOKEN,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }

    async with httpx.AsyncClient(limits=limits, timeout=CLIENT_TIMEOUT) as client:

        async def one(index: int) -> tuple[int, str]:
            body = {
                "model": "claude-haiku-4-5",
                "max_tokens": 64,
                "stream": index % 2 == 0,
                "messages": [{"role": "user", "content": f"burst {index}"}],
            }
            session = {"x-claude-code-session-id": f"burst-session-{index % 40}"}
            async with semaphore:
                response = await client.post(
                    f"{proxy.url}/v1/messages", content=json.dumps(body), headers={**headers, **session}
                )
                return response.status_code, response.text

        return await asyncio.gather(*(one(i) for i in range(REQUESTS)))


def test_burst_while_one_credential_flaps(
    reliability_proxy: ProxyProcess, reliability_anthropic: FakeAnthropic, hygiene: Hygiene
) -> None:
    flapping = POOL[0]
    stop = threading.Event()

    def flap() -> None:
        limited = False
        while not stop.wait(FLAP_SECONDS):
            limited = not limited
            if limited:
                reliability_anthropic.rate_limit(flapping, retry_after=1)
            else:
                reliability_anthropic.set_credential_fault(flapping, None)

    reliability_anthropic.requests.clear()
    flapper = threading.Thread(target=flap, daemon=True)
    flapper.start()
    try:
        results = asyncio.run(asyncio.wait_for(burst(reliability_proxy), timeout=300))
    finally:
        stop.set()
        flapper.join(timeout=5)
        reliability_anthropic.set_credential_fault(flapping, None)

    statuses = [status for status, _ in results]
    for status, text in results:
        LEDGER.record(status, "burst while a credential flaps", leaked=any(secret in text for secret in POOL))
        hygiene.saw(text)
        assert status != 500 and "Traceback" not in text
        if status != 200:  # a protocol error with a cause
            body = json.loads(text)
            assert body["type"] == "error" and body["error"]["message"], text[:300]
    assert statuses.count(200) == REQUESTS, {s: statuses.count(s) for s in set(statuses)}

    # The flapping token was never chosen while the proxy had it cooling (from the rotator's
    # own log: each lease and each cooldown with the pool clock's time).
    assert leases_during_cooldowns(reliability_proxy.log_text(), fingerprint(flapping)) == []
    refused = [
        r for r in reliability_anthropic.requests.all() if r.credential == flapping and r.status == 429
    ]
    assert refused

    # Nothing stays cooling once the cooldowns have run out.
    time.sleep(1.5)
    response = httpx.get(
        f"{reliability_proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
    )
    LEDGER.record_response(response, "pool status after the burst")
    report = response.json()
    claude = [row for row in report["tokens"] if row["pool"] == "claude"]
    assert claude and all(row["healthy"] for row in claude), claude
    assert sum(row["rate_limits"] for row in claude) >= 1
