"""Unit tests for OAuth refresh: expiry margin, the protocol's body and answer, the stores and their
locks, one refresh per pair, and what a failed refresh does to the pool.

The token endpoint is the strict fake (`tests/fakes/anthropic_oauth.py`) served in-process through
httpx's ASGI transport: no network, the real error shapes. Time comes from an injectable clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from litellm_plugins.core.settings import SettingsError
from litellm_plugins.rotator.credential_store import (
    CredentialError,
    FileCredentialStore,
    MemoryCredentialStore,
    OAuthPair,
    pair_from_document,
    pair_to_document,
)
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.rotator.oauth_leases import REJECTED_SECONDS, TRANSIENT_SECONDS, OAuthLeases
from litellm_plugins.rotator.oauth_refresh import (
    CLAUDE_CODE_CLIENT_ID,
    DEFAULT_SCOPES,
    OAuthRefresher,
    RefreshFailed,
    needs_refresh,
    refresh_body,
    refreshed_pair,
)
from litellm_plugins.rotator.oauth_settings import OAuthRefreshSettings, entry_for, parse_oauth_settings
from litellm_plugins.rotator.settings import RotatorSettings
from litellm_plugins.rotator.token_pool import TokenPool
from tests.fakes.anthropic_oauth import FakeOAuthServer

ACCESS = "sk-ant-oat01-access-" + "a" * 40
REFRESH = "sk-ant-ort01-refresh-" + "b" * 40
NOW = 1_800_000_000.0
TOKEN_URL = "http://oauth.fake/v1/oauth/token"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pair(expires_at: float | None = NOW + 3600, access: str = ACCESS, refresh: str = REFRESH) -> OAuthPair:
    return OAuthPair(access, refresh, expires_at, ("user:inference", "user:profile"), "max")


def refresher(
    fake: FakeOAuthServer, store: object, initial: OAuthPair, clock: Clock, fp: str = "fp:entry"
) -> OAuthRefresher:
    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))

    return OAuthRefresher({fp: initial}, store, TOKEN_URL, margin=300, clock=clock, http_client=client)  # type: ignore[arg-type]


# -- the margin ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [(3600, False), (301, False), (300, True), (10, True), (-5, True)],
)
def test_refresh_is_due_within_the_margin(expires_in: float, expected: bool) -> None:
    assert needs_refresh(pair(NOW + expires_in), NOW, 300) is expected


def test_unknown_expiry_is_trusted_until_a_401() -> None:
    assert not needs_refresh(pair(None), NOW, 300)


# -- the protocol ---------------------------------------------------------------------------------
def test_refresh_body_is_claude_codes() -> None:
    assert refresh_body(pair(), CLAUDE_CODE_CLIENT_ID) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLAUDE_CODE_CLIENT_ID,
        "scope": "user:inference user:profile",
    }
    assert refresh_body(OAuthPair(ACCESS, REFRESH), CLAUDE_CODE_CLIENT_ID)["scope"] == " ".join(
        DEFAULT_SCOPES
    )


def test_refreshed_pair_reads_the_answer_and_keeps_an_unrotated_refresh_token() -> None:
    fresh = refreshed_pair({"access_token": "sk-ant-oat01-new", "expires_in": 28800}, pair(), NOW)
    assert (fresh.access_token, fresh.refresh_token, fresh.expires_at) == (
        "sk-ant-oat01-new",
        REFRESH,
        NOW + 28800,
    )
    assert fresh.subscription_type == "max"
    rotated = refreshed_pair(
        {
            "access_token": "x",
            "refresh_token": "sk-ant-ort01-new",
            "expires_in": 60,
            "scope": "user:inference",
        },
        pair(),
        NOW,
    )
    assert (rotated.refresh_token, rotated.scopes) == ("sk-ant-ort01-new", ("user:inference",))
    with pytest.raises(RefreshFailed):
        refreshed_pair({"expires_in": 60}, pair(), NOW)


def test_credentials_document_round_trip_in_claude_codes_shape() -> None:
    document = pair_to_document(pair(NOW + 60))
    assert document == {
        "claudeAiOauth": {
            "accessToken": ACCESS,
            "refreshToken": REFRESH,
            "expiresAt": int((NOW + 60) * 1000),
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max",
        }
    }
    assert pair_from_document(document, "x") == pair(NOW + 60)
    assert pair_from_document(document["claudeAiOauth"], "x") == pair(NOW + 60)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"claudeAiOauth": {"accessToken": ACCESS}},
        {"claudeAiOauth": {"accessToken": "nope", "refreshToken": REFRESH}},
        {"claudeAiOauth": {"accessToken": ACCESS, "refreshToken": REFRESH, "expiresAt": "soon"}},
    ],
)
def test_a_document_that_is_not_a_pair_is_refused_without_echoing_it(document: object) -> None:
    with pytest.raises(CredentialError) as refused:
        pair_from_document(document, "somewhere")
    assert "somewhere" in str(refused.value) and ACCESS not in str(refused.value)


def test_a_pair_repr_shows_no_token() -> None:
    assert ACCESS not in repr(pair()) and REFRESH not in repr(pair())


# -- the file store -------------------------------------------------------------------------------
def test_file_store_round_trip_mode_600_and_atomic(tmp_path: Path) -> None:
    store = FileCredentialStore(tmp_path / "oauth.json")
    assert asyncio.run(store.load("fp:one")) is None
    asyncio.run(store.save("fp:one", pair()))
    asyncio.run(store.save("fp:two", pair(None, access="sk-ant-oat01-two", refresh="sk-ant-ort01-two")))
    assert asyncio.run(store.load("fp:one")) == pair()
    assert asyncio.run(store.load("fp:two")) == pair(
        None, access="sk-ant-oat01-two", refresh="sk-ant-ort01-two"
    )
    assert stat.S_IMODE(os.stat(tmp_path / "oauth.json").st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oauth.json"]  # no temporary file left over
    document = json.loads((tmp_path / "oauth.json").read_text())
    assert document["version"] == 1 and set(document["entries"]) == {"fp:one", "fp:two"}


def test_file_store_keeps_mode_600_when_rewriting_a_file_someone_loosened(tmp_path: Path) -> None:
    path = tmp_path / "oauth.json"
    store = FileCredentialStore(path)
    asyncio.run(store.save("fp:one", pair()))
    os.chmod(path, 0o644)
    asyncio.run(store.save("fp:one", pair(NOW + 1)))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_file_lock_excludes_a_second_holder_until_released(tmp_path: Path) -> None:
    path = tmp_path / "oauth.json"
    events: list[str] = []

    async def holder(name: str, store: FileCredentialStore, hold: float) -> None:
        async with store.lock("fp:one"):
            events.append(f"{name} in")
            await asyncio.sleep(hold)
            events.append(f"{name} out")

    async def main() -> None:
        first = asyncio.create_task(holder("a", FileCredentialStore(path), 0.2))
        await asyncio.sleep(0.05)
        await holder("b", FileCredentialStore(path), 0)  # another open file: as another process
        await first

    asyncio.run(main())
    assert events == ["a in", "a out", "b in", "b out"]


def test_file_lock_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "oauth.json"

    async def main() -> None:
        async with (
            FileCredentialStore(path).lock("fp:one"),
            FileCredentialStore(path, lock_seconds=0.1).lock("fp:one"),
        ):
            pass

    with pytest.raises(TimeoutError, match="held for over"):
        asyncio.run(main())


# -- the refresher ----------------------------------------------------------------------------------
def test_a_pair_near_expiry_is_refreshed_once_and_stored(tmp_path: Path) -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS}, delay=0.05)
    store = FileCredentialStore(tmp_path / "oauth.json")
    clock = Clock()
    subject = refresher(fake, store, pair(NOW + 100), clock)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(subject.access_token("fp:entry") for _ in range(5))))

    tokens = asyncio.run(main())
    [issued] = fake.issued
    assert tokens == [issued.access_token] * 5
    assert len(fake.calls) == 1 and fake.calls[0]["grant_type"] == "refresh_token"
    stored = asyncio.run(store.load("fp:entry"))
    assert stored is not None and stored.refresh_token == issued.refresh_token
    assert stored.expires_at == NOW + fake.expires_in
    # Still fresh a while later: no second refresh.
    clock.now += 3600
    assert asyncio.run(subject.access_token("fp:entry")) == issued.access_token
    assert len(fake.calls) == 1


def test_a_pair_far_from_expiry_is_not_refreshed() -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS})
    subject = refresher(fake, MemoryCredentialStore(), pair(NOW + 3600), Clock())
    assert asyncio.run(subject.access_token("fp:entry")) == ACCESS
    assert fake.calls == []


def test_two_workers_sharing_a_store_refresh_once_and_the_other_adopts(tmp_path: Path) -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS}, delay=0.1)
    path = tmp_path / "oauth.json"
    clock = Clock()
    first = refresher(fake, FileCredentialStore(path), pair(NOW + 10), clock)
    second = refresher(fake, FileCredentialStore(path), pair(NOW + 10), clock)

    async def main() -> tuple[str, str]:
        a, b = await asyncio.gather(first.access_token("fp:entry"), second.access_token("fp:entry"))
        return a, b

    a, b = asyncio.run(main())
    assert a == b == fake.issued[0].access_token
    assert len(fake.calls) == 1  # the second worker never spent the (already spent) refresh token


def test_a_store_from_an_earlier_run_wins_over_the_configured_pair(tmp_path: Path) -> None:
    store = FileCredentialStore(tmp_path / "oauth.json")
    later = pair(NOW + 7200, access="sk-ant-oat01-later", refresh="sk-ant-ort01-later")
    asyncio.run(store.save("fp:entry", later))
    fake = FakeOAuthServer({REFRESH: ACCESS})
    assert asyncio.run(refresher(fake, store, pair(NOW + 10), Clock()).access_token("fp:entry")) == (
        "sk-ant-oat01-later"
    )
    assert fake.calls == []


class BrokenStore(MemoryCredentialStore):
    async def load(self, entry: str) -> OAuthPair | None:
        raise ConnectionError("store down")


def test_an_unreadable_store_serves_the_configured_pair_and_fails_only_a_refresh() -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS})
    assert (
        asyncio.run(refresher(fake, BrokenStore(), pair(NOW + 3600), Clock()).access_token("fp:entry"))
        == ACCESS
    )
    with pytest.raises(RefreshFailed, match="credential store unavailable"):
        asyncio.run(refresher(fake, BrokenStore(), pair(NOW + 1), Clock()).access_token("fp:entry"))
    assert fake.calls == []  # no refresh without the store: its lock is what makes it the only one


def test_a_401_refreshes_unless_another_worker_already_did(tmp_path: Path) -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS})
    subject = refresher(fake, MemoryCredentialStore(), pair(None), Clock())
    fresh = asyncio.run(subject.after_unauthorized("fp:entry", ACCESS))
    assert fresh == fake.issued[0].access_token and len(fake.calls) == 1
    # A 401 for the token it replaced (a request in flight before the refresh): nothing to do.
    assert asyncio.run(subject.after_unauthorized("fp:entry", ACCESS)) == fresh
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("setup", "reason", "rejected"),
    [
        (lambda fake: None, "HTTP 400 invalid_grant", True),  # unknown refresh token
        (lambda fake: fake.fail_with(503), "HTTP 503 server_error", False),
    ],
)
def test_a_failed_refresh_says_why_without_a_token(setup: object, reason: str, rejected: bool) -> None:
    fake = FakeOAuthServer({} if rejected else {REFRESH: ACCESS})
    setup(fake)  # type: ignore[operator]
    subject = refresher(fake, MemoryCredentialStore(), pair(NOW + 1), Clock())
    with pytest.raises(RefreshFailed) as failed:
        asyncio.run(subject.access_token("fp:entry"))
    assert failed.value.reason == reason and failed.value.rejected is rejected
    assert REFRESH not in str(failed.value) and ACCESS not in str(failed.value)


def test_a_spent_refresh_token_is_refused_by_the_fake_like_the_real_endpoint() -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS})
    first = refresher(fake, MemoryCredentialStore(), pair(NOW + 1), Clock())
    second = refresher(fake, MemoryCredentialStore(), pair(NOW + 1), Clock())  # no shared store
    asyncio.run(first.access_token("fp:entry"))
    with pytest.raises(RefreshFailed, match="invalid_grant"):
        asyncio.run(second.access_token("fp:entry"))


def test_the_fake_refuses_a_wrong_grant_or_client() -> None:
    fake = FakeOAuthServer({REFRESH: ACCESS})

    async def post(body: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
            return await client.post(TOKEN_URL, json=body)

    wrong_grant = asyncio.run(post({**refresh_body(pair(), CLAUDE_CODE_CLIENT_ID), "grant_type": "password"}))
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    wrong_client = asyncio.run(post({**refresh_body(pair(), CLAUDE_CODE_CLIENT_ID), "client_id": "other"}))
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")


# -- the pool side ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("known", "seconds"), [(False, REJECTED_SECONDS), (True, TRANSIENT_SECONDS)])
def test_a_failed_refresh_cools_the_entry_and_logs_its_fingerprint(
    known: bool, seconds: float, caplog: pytest.LogCaptureFixture
) -> None:
    entry = entry_for(pair(NOW + 1), "test")
    clock = Clock()
    pool = TokenPool("claude", [entry.placeholder], clock=clock)
    fake = FakeOAuthServer({REFRESH: ACCESS} if known else {})
    if known:
        fake.fail_with(500)
    cooled: list[tuple[str, float, str]] = []

    async def cool(target: TokenPool, fp: str, how_long: float, reason: str) -> None:
        cooled.append((fp, how_long, reason))
        target.cool(fp, how_long, reason)

    leases = OAuthLeases(refresher(fake, MemoryCredentialStore(), entry.pair, clock, entry.fingerprint), cool)
    lease = pool.select()
    assert lease is not None and lease.fingerprint == entry.fingerprint
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(leases.ready(pool, lease)) is None
    assert cooled == [(entry.fingerprint, seconds, "refresh_failed" if known else "refresh_rejected")]
    assert pool.select() is None
    assert entry.fingerprint in caplog.text and "OAuth refresh failed" in caplog.text
    assert REFRESH not in caplog.text and ACCESS not in caplog.text


def test_a_ready_lease_carries_the_access_token_and_keeps_the_entry_fingerprint() -> None:
    entry = entry_for(pair(NOW + 1), "test")
    pool = TokenPool("claude", [entry.placeholder], clock=Clock())
    fake = FakeOAuthServer({REFRESH: ACCESS})

    async def cool(*args: object) -> None:
        raise AssertionError("nothing failed")

    leases = OAuthLeases(
        refresher(fake, MemoryCredentialStore(), entry.pair, Clock(), entry.fingerprint), cool
    )
    lease = pool.select()
    assert lease is not None
    ready = asyncio.run(leases.ready(pool, lease))
    assert ready is not None and ready.token == fake.issued[0].access_token
    assert ready.fingerprint == entry.fingerprint == fingerprint(entry.placeholder)


class Unauthorized(Exception):
    status_code = 401


def test_a_401_outside_the_pool_client_refreshes_the_pair_instead_of_resting_it(tmp_path: Path) -> None:
    """OpenAI-format requests to Anthropic fail through LiteLLM's failure hook, not the pool client."""
    entry = entry_for(pair(NOW + 3600), "test")
    oauth = OAuthRefreshSettings((entry,), store=str(tmp_path / "store.json"), token_url=TOKEN_URL)
    rotator = TokenRotator(RotatorSettings(mode="rotate", oauth=oauth), clock=Clock())
    fake = FakeOAuthServer({REFRESH: ACCESS})
    assert rotator._oauth is not None  # the in-process token endpoint instead of the network
    rotator._oauth.refresher.http_client = lambda: httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app)
    )
    lease = asyncio.run(rotator.lease(rotator.pool(), None))
    assert lease is not None and lease.token == ACCESS
    asyncio.run(
        rotator.async_post_call_failure_deployment_hook({"api_key": ACCESS}, Unauthorized(), "acompletion")
    )
    assert fake.refreshes == 1
    [row] = rotator.status()
    assert row["healthy"] is True and row["fingerprint"] == entry.fingerprint
    following = asyncio.run(rotator.lease(rotator.pool(), None))
    assert following is not None and following.token == fake.issued[0].access_token


# -- settings -----------------------------------------------------------------------------------------
def write_credentials(path: Path, access: str = ACCESS, refresh: str = REFRESH) -> Path:
    path.write_text(json.dumps(pair_to_document(pair(NOW, access, refresh))))
    return path


def test_settings_read_credentials_files_and_inline_pairs(tmp_path: Path) -> None:
    credentials = write_credentials(tmp_path / "alice.json")
    inline = f"sk-ant-oat01-{'c' * 40}:sk-ant-ort01-{'d' * 40}:1800000000000"
    settings = parse_oauth_settings(
        {
            "CLAUDE_OAUTH_CREDENTIALS": str(credentials),
            "CLAUDE_OAUTH_PAIRS": inline,
            "CLAUDE_OAUTH_STORE": str(tmp_path / "store.json"),
            "CLAUDE_OAUTH_REFRESH_MARGIN": "120",
        },
        None,
    )
    assert settings is not None
    assert [entry.pair.refresh_token for entry in settings.entries] == [REFRESH, f"sk-ant-ort01-{'d' * 40}"]
    assert settings.entries[1].pair.expires_at == 1_800_000_000.0
    assert settings.margin == 120 and settings.store == str(tmp_path / "store.json")
    # The entry's fingerprint is of its configured refresh token: not of the (rotating) access token.
    assert settings.entries[0].fingerprint == entry_for(pair(None, "sk-ant-oat01-other"), "x").fingerprint


def test_settings_default_to_redis_when_redis_is_configured(tmp_path: Path) -> None:
    environ = {"CLAUDE_OAUTH_CREDENTIALS": str(write_credentials(tmp_path / "a.json"))}
    settings = parse_oauth_settings(environ, "redis://127.0.0.1:6379/0")
    assert settings is not None and settings.store == "redis"
    assert parse_oauth_settings({}, None) is None


@pytest.mark.parametrize(
    ("environ", "fix"),
    [
        ({}, "set CLAUDE_OAUTH_STORE="),
        ({"CLAUDE_OAUTH_STORE": "redis"}, "needs REDIS_URL"),
        ({"CLAUDE_OAUTH_STORE": "/nonexistent-dir/x.json"}, "must exist and be writable"),
        ({"CLAUDE_OAUTH_REFRESH_MARGIN": "-1"}, "CLAUDE_OAUTH_REFRESH_MARGIN must be seconds"),
        ({"CLAUDE_OAUTH_TOKEN_URL": "ftp://x"}, "CLAUDE_OAUTH_TOKEN_URL must be an http(s) URL"),
    ],
)
def test_settings_errors_say_how_to_fix_them(tmp_path: Path, environ: dict[str, str], fix: str) -> None:
    base = {"CLAUDE_OAUTH_CREDENTIALS": str(write_credentials(tmp_path / "a.json"))}
    if "CLAUDE_OAUTH_STORE" not in environ and fix != "set CLAUDE_OAUTH_STORE=":
        base["CLAUDE_OAUTH_STORE"] = str(tmp_path / "store.json")
    with pytest.raises(SettingsError, match=fix.replace("(", r"\(").replace(")", r"\)")):
        parse_oauth_settings({**base, **environ}, None)


def test_settings_refuse_a_store_other_users_can_read(tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    store.write_text("{}")
    os.chmod(store, 0o644)
    environ = {
        "CLAUDE_OAUTH_CREDENTIALS": str(write_credentials(tmp_path / "a.json")),
        "CLAUDE_OAUTH_STORE": str(store),
    }
    with pytest.raises(SettingsError, match=f"chmod 600 {store}"):
        parse_oauth_settings(environ, None)


@pytest.mark.parametrize(
    ("credentials", "pairs", "message"),
    [
        ("/nonexistent/creds.json", "", "does not exist"),
        ("", f"{ACCESS}", "must be access:refresh"),
        ("", f"{ACCESS}:{REFRESH}:soon", "epoch milliseconds"),
        ("", f"{ACCESS}:sk-ant-oat01-{'e' * 40}", "sk-ant-ort"),
        ("", f"{ACCESS}:{REFRESH},sk-ant-oat01-{'f' * 40}:{REFRESH}", "same refresh token"),
    ],
)
def test_settings_refuse_bad_entries_without_echoing_tokens(
    tmp_path: Path, credentials: str, pairs: str, message: str
) -> None:
    environ = {
        "CLAUDE_OAUTH_CREDENTIALS": credentials,
        "CLAUDE_OAUTH_PAIRS": pairs,
        "CLAUDE_OAUTH_STORE": str(tmp_path / "store.json"),
    }
    with pytest.raises(SettingsError, match=message) as refused:
        parse_oauth_settings(environ, None)
    assert ACCESS not in str(refused.value) and REFRESH not in str(refused.value)
