"""Where refreshed Claude OAuth pairs live, and the lock that lets one worker refresh a pair.

No hook: used by :mod:`litellm_plugins.rotator.oauth_refresh`. Settings (read by
:mod:`litellm_plugins.rotator.oauth_settings`):

    CLAUDE_OAUTH_STORE=/var/lib/litellm-plugins/claude-oauth.json   # a file, mode 600, written atomically
    CLAUDE_OAUTH_STORE=redis                                        # the pool's Redis (REDIS_URL)

Both stores key a pair by its pool entry's fingerprint (stable across refreshes), never by a
token. The file holds `{"version": 1, "entries": {"fp:...": {"claudeAiOauth": {...}}}}`, each
pair in the shape of Claude Code's `~/.claude/.credentials.json`; it is rewritten through a
temporary file in the same directory (mode 600 from its creation, fsync, rename), so a crash
leaves the old file or the new one, never half of one. Its lock is `fcntl.flock` on
`<file>.lock`, which serialises the workers of one host. The Redis store keeps the same JSON
under `litellm_plugins:oauth:<fingerprint>` (the one place the bundle puts a secret in Redis,
because the operator chose Redis as the credential store: protect it with a password) and locks
with `SET ... NX PX`, released only by its holder, so replicas on several hosts refresh a pair
once. A lock is never held across the token endpoint's reply longer than `LOCK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

logger = logging.getLogger(__name__)

REDIS_PREFIX: Final = "litellm_plugins:oauth"
LOCK_SECONDS: Final = 30.0
LOCK_POLL_SECONDS: Final = 0.05
FILE_VERSION: Final = 1
RELEASE_SCRIPT: Final = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
)


class CredentialError(ValueError):
    """A credentials document that is not a Claude OAuth pair (the message names where, never a token)."""


@dataclass(frozen=True)
class OAuthPair:
    """An access token, the refresh token that renews it, and when the access token expires.

    `expires_at` is epoch seconds (None: unknown, trusted until Anthropic answers 401). The
    tokens never appear in a repr.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float | None = None
    scopes: tuple[str, ...] = ()
    subscription_type: str | None = None


def pair_from_document(document: Any, where: str) -> OAuthPair:
    """A pair from Claude Code's credentials JSON (`{"claudeAiOauth": {...}}`) or its inner object."""
    if isinstance(document, Mapping) and isinstance(document.get("claudeAiOauth"), Mapping):
        document = document["claudeAiOauth"]
    if not isinstance(document, Mapping):
        raise CredentialError(f'{where}: expected Claude credentials JSON ({{"claudeAiOauth": {{...}}}})')
    access = document.get("accessToken")
    refresh = document.get("refreshToken")
    if not isinstance(access, str) or not access.startswith("sk-ant-oat"):
        raise CredentialError(f"{where}: claudeAiOauth.accessToken must be an sk-ant-oat... token")
    if not isinstance(refresh, str) or not refresh.startswith("sk-ant-ort"):
        raise CredentialError(
            f"{where}: claudeAiOauth.refreshToken must be an sk-ant-ort... token (a `claude setup-token` "
            "token has none: put it in CLAUDE_OAUTH_TOKENS instead)"
        )
    expires_ms = document.get("expiresAt")
    if expires_ms is not None and (isinstance(expires_ms, bool) or not isinstance(expires_ms, (int, float))):
        raise CredentialError(f"{where}: claudeAiOauth.expiresAt must be epoch milliseconds")
    scopes = document.get("scopes") or ()
    subscription = document.get("subscriptionType")
    return OAuthPair(
        access_token=access,
        refresh_token=refresh,
        expires_at=None if expires_ms is None else float(expires_ms) / 1000.0,
        scopes=tuple(str(scope) for scope in scopes) if isinstance(scopes, list) else (),
        subscription_type=subscription if isinstance(subscription, str) else None,
    )


def pair_to_document(pair: OAuthPair) -> dict[str, Any]:
    """The pair in Claude Code's credentials shape (what `pair_from_document` reads back)."""
    inner: dict[str, Any] = {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "expiresAt": None if pair.expires_at is None else int(pair.expires_at * 1000),
        "scopes": list(pair.scopes),
    }
    if pair.subscription_type is not None:
        inner["subscriptionType"] = pair.subscription_type
    return {"claudeAiOauth": inner}


class CredentialStore(Protocol):
    """Refreshed pairs by entry fingerprint, and a lock per entry shared by every worker."""

    async def load(self, entry: str) -> OAuthPair | None: ...

    async def save(self, entry: str, pair: OAuthPair) -> None: ...

    def lock(self, entry: str) -> contextlib.AbstractAsyncContextManager[None]: ...


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically; the file is mode 600 from the moment it exists."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename itself must survive a crash too: the old refresh token is already spent.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class FileCredentialStore:
    """A JSON file of pairs (mode 600, atomic rewrites) with an `flock` per store."""

    def __init__(self, path: Path, lock_seconds: float = LOCK_SECONDS) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._lock_seconds = lock_seconds

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        document = json.loads(text) if text.strip() else {}
        entries = document.get("entries") if isinstance(document, dict) else None
        return dict(entries) if isinstance(entries, dict) else {}

    async def load(self, entry: str) -> OAuthPair | None:
        found = self._read().get(entry)
        return None if found is None else pair_from_document(found, f"{self.path} entry {entry}")

    async def save(self, entry: str, pair: OAuthPair) -> None:
        # Read-modify-write of the whole file: callers hold `lock(entry)`, which locks the file.
        entries = self._read()
        entries[entry] = pair_to_document(pair)
        text = json.dumps({"version": FILE_VERSION, "entries": entries}, indent=2, sort_keys=True)
        write_private_file(self.path, text + "\n")

    @contextlib.asynccontextmanager
    async def lock(self, entry: str) -> AsyncIterator[None]:
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self._lock_seconds
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"the OAuth store lock {self._lock_path} is held for over "
                            f"{self._lock_seconds:.0f}s by another process"
                        ) from None
                    await asyncio.sleep(LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


class RedisCredentialStore:
    """Pairs in Redis, locked with `SET NX PX` (released by its holder only)."""

    def __init__(self, url: str, client: Any | None = None, lock_seconds: float = LOCK_SECONDS) -> None:
        if client is None:
            import redis.asyncio as redis_asyncio

            client = redis_asyncio.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)
        self._redis = client
        self._lock_seconds = lock_seconds

    @staticmethod
    def key(entry: str) -> str:
        return f"{REDIS_PREFIX}:{entry}"

    async def load(self, entry: str) -> OAuthPair | None:
        raw = await self._redis.get(self.key(entry))
        if not raw:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return pair_from_document(json.loads(text), f"redis {self.key(entry)}")

    async def save(self, entry: str, pair: OAuthPair) -> None:
        await self._redis.set(self.key(entry), json.dumps(pair_to_document(pair)))

    @contextlib.asynccontextmanager
    async def lock(self, entry: str) -> AsyncIterator[None]:
        name = f"{self.key(entry)}:lock"
        holder = secrets.token_hex(16)
        deadline = time.monotonic() + self._lock_seconds
        while not await self._redis.set(name, holder, nx=True, px=int(self._lock_seconds * 1000)):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the OAuth refresh lock {name} is held for over {self._lock_seconds:.0f}s"
                )
            await asyncio.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            await self._redis.eval(RELEASE_SCRIPT, 1, name, holder)


class MemoryCredentialStore:
    """One process's pairs (unit tests; never configured: a restart would lose refreshed pairs)."""

    def __init__(self) -> None:
        self.pairs: dict[str, OAuthPair] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, entry: str) -> OAuthPair | None:
        return self.pairs.get(entry)

    async def save(self, entry: str, pair: OAuthPair) -> None:
        self.pairs[entry] = pair

    @contextlib.asynccontextmanager
    async def lock(self, entry: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(entry, asyncio.Lock()):
            yield
