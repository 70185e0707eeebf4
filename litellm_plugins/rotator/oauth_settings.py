"""Settings for Claude pool entries that refresh themselves: OAuth access + refresh token pairs.

Read once at startup from the environment by the token rotator's settings; a bad value raises
:class:`~litellm_plugins.core.settings.SettingsError` with the fix. Environment:

    # Claude Code credentials files (the JSON `~/.claude/.credentials.json` holds after `claude
    # login`), comma-separated; each is one pool entry. Copy them: the proxy spends the refresh
    # token, so a Claude Code still using the same login would be logged out (and vice versa).
    CLAUDE_OAUTH_CREDENTIALS=/secrets/claude-alice.json,/secrets/claude-bob.json
    # or pairs inline: access:refresh[:expiresAt epoch ms], comma-separated
    CLAUDE_OAUTH_PAIRS=sk-ant-oat01-...:sk-ant-ort01-...:1767225600000
    # where refreshed pairs are kept: a file (mode 600, written atomically) or `redis` (REDIS_URL).
    # Default: redis when Redis is configured; otherwise it must be set.
    CLAUDE_OAUTH_STORE=/var/lib/litellm-plugins/claude-oauth.json
    CLAUDE_OAUTH_REFRESH_MARGIN=300          # refresh this many seconds before expiry
    CLAUDE_OAUTH_TOKEN_URL=https://platform.claude.com/v1/oauth/token   # tests point it at a fake
    CLAUDE_OAUTH_CLIENT_ID=9d1c250a-...      # Claude Code's OAuth client (the default)

Plain `sk-ant-oat01-` tokens from `claude setup-token` (a year long, no refresh token) stay in
`CLAUDE_OAUTH_TOKENS`. Each pair's pool fingerprint is of its configured refresh token (so it
stays the same across refreshes and restarts, and changes only when you configure a new login).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from litellm_plugins.core.redaction import fingerprint
from litellm_plugins.core.settings import SettingsError
from litellm_plugins.rotator.credential_store import (
    CredentialError,
    CredentialStore,
    FileCredentialStore,
    OAuthPair,
    RedisCredentialStore,
    pair_from_document,
)
from litellm_plugins.rotator.oauth_refresh import (
    CLAUDE_CODE_CLIENT_ID,
    DEFAULT_MARGIN_SECONDS,
    DEFAULT_TOKEN_URL,
    OAuthRefresher,
)

logger = logging.getLogger(__name__)

REDIS_STORE: Final = "redis"
LOG_STARTUP: Final = "rotator: %d OAuth pair(s) %s refresh through %s, stored in %s, %.0fs before expiry"
PLACEHOLDER_PREFIX: Final = "claude-oauth-pair:"
LIST_SPLIT: Final = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class OAuthEntry:
    """One self-refreshing pool entry: what the pool holds in place of a token, and its pair."""

    placeholder: str  # never sent anywhere: the rotator swaps in the current access token
    pair: OAuthPair
    source: str  # where it was configured (a path or "CLAUDE_OAUTH_PAIRS entry N"), for messages

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.placeholder)


@dataclass(frozen=True)
class OAuthRefreshSettings:
    entries: tuple[OAuthEntry, ...] = ()
    store: str = REDIS_STORE  # "redis" or a file path
    token_url: str = DEFAULT_TOKEN_URL
    client_id: str = CLAUDE_CODE_CLIENT_ID
    margin: float = DEFAULT_MARGIN_SECONDS


def entry_for(pair: OAuthPair, source: str) -> OAuthEntry:
    return OAuthEntry(PLACEHOLDER_PREFIX + fingerprint(pair.refresh_token), pair, source)


def is_placeholder(token: str) -> bool:
    return token.startswith(PLACEHOLDER_PREFIX)


def _items(raw: str | None) -> list[str]:
    return [item for item in LIST_SPLIT.split(raw or "") if item]


def _from_file(path_text: str) -> OAuthEntry:
    path = Path(path_text).expanduser()
    where = f"CLAUDE_OAUTH_CREDENTIALS file {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{where} does not exist: copy ~/.claude/.credentials.json there") from None
    except OSError as error:
        raise SettingsError(f"{where} cannot be read ({error.strerror}): check its owner and mode") from None
    except ValueError:
        raise SettingsError(f"{where} is not JSON: expected Claude Code's credentials file") from None
    try:
        return entry_for(pair_from_document(document, where), str(path))
    except CredentialError as error:
        raise SettingsError(str(error)) from None


def _from_pair(text: str, index: int) -> OAuthEntry:
    where = f"CLAUDE_OAUTH_PAIRS entry {index}"
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SettingsError(
            f"{where} must be access:refresh or access:refresh:expiresAt (epoch milliseconds)"
        )
    expires: int | None = None
    if len(parts) == 3:
        if not parts[2].isdigit():
            raise SettingsError(f"{where}: expiresAt must be epoch milliseconds (digits only)")
        expires = int(parts[2])
    document = {"accessToken": parts[0], "refreshToken": parts[1], "expiresAt": expires}
    try:
        return entry_for(pair_from_document(document, where), where)
    except CredentialError as error:
        raise SettingsError(str(error)) from None


def _store(environ: Mapping[str, str], redis_url: str | None) -> str:
    raw = (environ.get("CLAUDE_OAUTH_STORE") or "").strip()
    if not raw:
        if redis_url:
            return REDIS_STORE
        raise SettingsError(
            "CLAUDE_OAUTH_CREDENTIALS / CLAUDE_OAUTH_PAIRS need a place to keep refreshed tokens (a refresh "
            "spends the old refresh token): set CLAUDE_OAUTH_STORE=/path/claude-oauth.json (a file the proxy "
            "writes with mode 600) or CLAUDE_OAUTH_STORE=redis with REDIS_URL"
        )
    if raw.lower() == REDIS_STORE:
        if not redis_url:
            raise SettingsError("CLAUDE_OAUTH_STORE=redis needs REDIS_URL (or REDIS_HOST): set one")
        return REDIS_STORE
    path = Path(raw).expanduser()
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise SettingsError(
            f"CLAUDE_OAUTH_STORE={raw}: the directory {path.parent} must exist and be writable by the proxy "
            "(it writes the file atomically next to it)"
        )
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SettingsError(
                f"CLAUDE_OAUTH_STORE={raw} is readable by other users (mode {mode:o}): chmod 600 {raw}"
            )
        try:
            json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            raise SettingsError(
                f"CLAUDE_OAUTH_STORE={raw} exists but is not a readable JSON file: move it away"
            ) from None
    return str(path)


def parse_oauth_settings(environ: Mapping[str, str], redis_url: str | None) -> OAuthRefreshSettings | None:
    """The self-refreshing entries and where they are stored; None when none is configured."""
    entries = [_from_file(item) for item in _items(environ.get("CLAUDE_OAUTH_CREDENTIALS"))]
    entries += [_from_pair(item, i) for i, item in enumerate(_items(environ.get("CLAUDE_OAUTH_PAIRS")), 1)]
    if not entries:
        return None
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.fingerprint in seen:
            raise SettingsError(
                f"{entry.source} and {seen[entry.fingerprint]} hold the same refresh token: "
                "list each login once"
            )
        seen[entry.fingerprint] = entry.source
    token_url = (environ.get("CLAUDE_OAUTH_TOKEN_URL") or DEFAULT_TOKEN_URL).strip()
    if not re.match(r"^https?://[^\s/]+", token_url):
        raise SettingsError(f"CLAUDE_OAUTH_TOKEN_URL must be an http(s) URL, got {token_url!r}")
    margin_raw = (environ.get("CLAUDE_OAUTH_REFRESH_MARGIN") or str(DEFAULT_MARGIN_SECONDS)).strip()
    try:
        margin = float(margin_raw)
    except ValueError:
        margin = -1.0
    if not math.isfinite(margin) or margin < 0:
        raise SettingsError(f"CLAUDE_OAUTH_REFRESH_MARGIN must be seconds (>= 0), got {margin_raw!r}")
    return OAuthRefreshSettings(
        entries=tuple(entries),
        store=_store(environ, redis_url),
        token_url=token_url,
        client_id=(environ.get("CLAUDE_OAUTH_CLIENT_ID") or CLAUDE_CODE_CLIENT_ID).strip(),
        margin=margin,
    )


def build_refresher(
    settings: OAuthRefreshSettings, redis_url: str | None, clock: Callable[[], float]
) -> OAuthRefresher:
    """The refresher for `settings`, with the store they name."""
    logger.info(
        LOG_STARTUP,
        len(settings.entries),
        [entry.fingerprint for entry in settings.entries[:5]],
        settings.token_url,
        settings.store,
        settings.margin,
    )
    store: CredentialStore
    if settings.store == REDIS_STORE:
        assert redis_url is not None  # parse_oauth_settings refused redis without a URL
        store = RedisCredentialStore(redis_url)
    else:
        store = FileCredentialStore(Path(settings.store))
    return OAuthRefresher(
        {entry.fingerprint: entry.pair for entry in settings.entries},
        store,
        token_url=settings.token_url,
        client_id=settings.client_id,
        margin=settings.margin,
        clock=clock,
    )
