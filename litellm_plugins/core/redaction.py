"""Secrets never appear in logs, errors or metadata: only a short fingerprint does.

`fingerprint()` is what we log instead of a credential; `RedactingFilter` is a backstop on the
root logger that masks anything shaped like a provider credential that slipped into a message.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Final

# Shapes of credentials this bundle handles: Anthropic API keys and OAuth tokens, OpenAI-style
# keys, and bearer values in header dumps. A key starts a word: `task-`, `disk-`, `risk-...` in
# ordinary text are not keys.
SECRET_PATTERN: Final = re.compile(
    r"(?<![A-Za-z0-9])(sk-ant-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+"
    r"|(?<![A-Za-z0-9])(sk-(?:proj-|or-v1-)?[A-Za-z0-9]{2})[A-Za-z0-9_\-]{16,}"
    r"|((?:[Bb]earer|x-api-key:?|x-litellm-api-key:?)\s+['\"]?[A-Za-z0-9]{2})[A-Za-z0-9_\-.]{14,}"
)
MASK: Final = "***"


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible label for a secret: `fp:1a2b3c4d`."""
    return "fp:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def redact(text: str) -> str:
    """Mask every credential-shaped substring, keeping a short prefix for recognition."""
    return SECRET_PATTERN.sub(lambda match: next(g for g in match.groups() if g) + MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's rendered message with secrets masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


class Secret:
    """Holds a secret whose repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.fingerprint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        import hmac

        return isinstance(other, Secret) and hmac.compare_digest(
            self._value.encode("utf-8", "surrogatepass"), other._value.encode("utf-8", "surrogatepass")
        )

    def __hash__(self) -> int:
        return hash(self.fingerprint)
