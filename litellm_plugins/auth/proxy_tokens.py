"""Proxy tokens: who may use this proxy, parsed once from the environment and validated at startup.

Pure settings and matching for the static-token auth hook (:mod:`litellm_plugins.auth.hook`). Settings
read (once, from an injectable `environ`):

    PROXY_STATIC_TOKEN=<token>                  one client, named "default"
    PROXY_STATIC_TOKENS=alice:<token>:pool,ci:<token>:passthrough,bob:<token>
                                                named clients; the optional third field is the
                                                client's permission on the shared Claude OAuth pool:
                                                `pool` (may use it) or `passthrough` (own credential only)
    PROXY_TOKEN_DEFAULT_PERMISSION=pool         permission when the third field is absent, and for
                                                PROXY_STATIC_TOKEN and the anonymous identities below
                                                (`pool` | `passthrough`, default `pool`)
    PROXY_ALLOW_WEAK_TOKENS=true                accept tokens shorter than 32 characters
    PROXY_AUTH_OPEN=true                        with no token configured, serve every peer (trusted
                                                networks only); without it, loopback peers only

Both token variables may be set; names must be unique (PROXY_STATIC_TOKEN is "default"). Generate
a token with `openssl rand -hex 24`. Tokens are held as :class:`Secret` and compared in constant time
against every registered token; errors name the variable and the client, never the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from litellm_plugins.core.redaction import Secret
from litellm_plugins.core.settings import SettingsError

MIN_TOKEN_LENGTH: Final = 32
DEFAULT_NAME: Final = "default"
LOOPBACK_NAME: Final = "loopback"
OPEN_NAME: Final = "anonymous"
PERMISSIONS: Final = {"pool": True, "passthrough": False}
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# Claude credentials are the client's own, for passthrough; they can never be proxy tokens.
CLIENT_CREDENTIAL_PREFIX: Final = "sk-ant-"
FIX_WEAK: Final = "generate one with `openssl rand -hex 24`, or set PROXY_ALLOW_WEAK_TOKENS=true to accept it"
TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS: Final = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class ProxyToken:
    """One client: its name (LiteLLM user id and key alias), its token, its pool permission."""

    name: str
    secret: Secret
    may_use_pool: bool

    @property
    def fingerprint(self) -> str:
        return self.secret.fingerprint


class TokenRegistry:
    """The configured tokens; `match` runs in time independent of which token (if any) matches."""

    def __init__(self, tokens: tuple[ProxyToken, ...]) -> None:
        self.tokens = tokens
        self._encoded = tuple(token.secret.reveal().encode("utf-8", "surrogatepass") for token in tokens)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def match(self, candidate: str) -> ProxyToken | None:
        encoded = candidate.encode("utf-8", "surrogatepass")
        found: ProxyToken | None = None
        # No early exit: every token is compared whatever the candidate is.
        for token, secret in zip(self.tokens, self._encoded, strict=True):
            if hmac.compare_digest(encoded, secret) and found is None:
                found = token
        return found


@dataclass(frozen=True)
class AuthSettings:
    registry: TokenRegistry
    open_to_all: bool
    default_may_use_pool: bool

    @property
    def mode(self) -> str:
        """`tokens`, `open` or `loopback`: how requests without a registered token are treated."""
        if self.registry:
            return "tokens"
        return "open" if self.open_to_all else "loopback"


def parse_bool(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def parse_permission(value: str, where: str) -> bool:
    key = value.strip().lower()
    if key not in PERMISSIONS:
        raise SettingsError(f"{where}: permission must be `pool` or `passthrough`, got {value.strip()!r}")
    return PERMISSIONS[key]


def _check_token(value: str, variable: str, name: str, allow_weak: bool) -> None:
    where = f"{variable} (client {name!r})"
    if not value:
        raise SettingsError(f"{where}: the token is empty; generate one with `openssl rand -hex 24`")
    if any(ch.isspace() for ch in value):
        raise SettingsError(
            f"{where}: the token contains whitespace; generate one with `openssl rand -hex 24`"
        )
    if value.startswith(CLIENT_CREDENTIAL_PREFIX):
        raise SettingsError(
            f"{where}: the token looks like a Claude credential (sk-ant-...), which clients send for "
            "passthrough; generate a proxy token with `openssl rand -hex 24`"
        )
    if len(value) < MIN_TOKEN_LENGTH and not allow_weak:
        raise SettingsError(f"{where}: the token is shorter than {MIN_TOKEN_LENGTH} characters; {FIX_WEAK}")


def parse_token_list(
    text: str, default_may_use_pool: bool, variable: str = "PROXY_STATIC_TOKENS"
) -> list[tuple[str, str, bool]]:
    """`name:token[:pool|passthrough],...` as (name, token, may_use_pool); never echoes a token."""
    entries: list[tuple[str, str, bool]] = []
    for index, raw in enumerate(part.strip() for part in text.split(",")):
        if not raw:
            continue
        fields = raw.split(":")
        name = fields[0].strip()
        if len(fields) not in (2, 3) or not NAME_PATTERN.match(name):
            raise SettingsError(
                f"{variable}: entry {index + 1} must look like `name:token` or `name:token:pool|passthrough` "
                "(name: letters, digits, `_.@-`)"
            )
        permission = default_may_use_pool
        if len(fields) == 3:
            permission = parse_permission(fields[2], f"{variable} (client {name!r})")
        entries.append((name, fields[1].strip(), permission))
    return entries


def load_auth_settings(environ: Mapping[str, str] | None = None) -> AuthSettings:
    """Read and validate every auth setting; raises SettingsError with a fix-it message."""
    environ = os.environ if environ is None else environ
    allow_weak = parse_bool(environ, "PROXY_ALLOW_WEAK_TOKENS")
    open_to_all = parse_bool(environ, "PROXY_AUTH_OPEN")
    default_permission = environ.get("PROXY_TOKEN_DEFAULT_PERMISSION", "pool") or "pool"
    default_may_use_pool = parse_permission(default_permission, "PROXY_TOKEN_DEFAULT_PERMISSION")

    candidates: list[tuple[str, str, bool, str]] = []
    single = environ.get("PROXY_STATIC_TOKEN", "").strip()
    if single:
        candidates.append((DEFAULT_NAME, single, default_may_use_pool, "PROXY_STATIC_TOKEN"))
    listed = environ.get("PROXY_STATIC_TOKENS", "")
    for name, value, may_use_pool in parse_token_list(listed, default_may_use_pool):
        candidates.append((name, value, may_use_pool, "PROXY_STATIC_TOKENS"))

    tokens: list[ProxyToken] = []
    for name, value, may_use_pool, variable in candidates:
        _check_token(value, variable, name, allow_weak)
        secret = Secret(value)
        for other in tokens:
            if other.name == name:
                raise SettingsError(
                    f"{variable}: client name {name!r} is used twice; give each client its own name"
                )
            if other.secret == secret:
                raise SettingsError(
                    f"{variable}: clients {other.name!r} and {name!r} share one token; give each client its "
                    "own token"
                )
        tokens.append(ProxyToken(name=name, secret=secret, may_use_pool=may_use_pool))
    return AuthSettings(
        registry=TokenRegistry(tuple(tokens)),
        open_to_all=open_to_all,
        default_may_use_pool=default_may_use_pool,
    )


def is_loopback(host: str | None) -> bool:
    """Whether a peer address (the socket's, never a forwarded header) is on this machine."""
    if not host:
        return False
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # IPv6 zone id
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
