"""Which upstream failures are the client's own mistake, so a fallback cannot fix them (pure).

LiteLLM's router falls back to the next model group on almost any failure, so a request the
provider refused as invalid (`thinking.budget_tokens: -5`, a 400 `invalid_request_error`) was
sent again to another provider and answered 200 there: the client never learns its request is
wrong, and pays for a second provider. A provider's 400, 404, 413 and 422 are the client's to
see; rate limits (429), server errors (5xx, 529), timeouts and connection failures still fall
back, and so do the two 400s a larger or more lenient model can serve (context window exceeded,
content policy) and LiteLLM's own "this deployment does not support that parameter".
"""

from __future__ import annotations

from typing import Any, Final

CLIENT_ERROR_STATUSES: Final = frozenset({400, 404, 413, 422})
# 400s a different deployment can serve: LiteLLM's own exception classes for them.
FALLBACK_WORTHY_CLASSES: Final = frozenset(
    {"ContextWindowExceededError", "ContentPolicyViolationError", "UnsupportedParamsError"}
)


def is_client_error(exception: BaseException) -> bool:
    """The upstream refused the request itself: retrying it elsewhere cannot help."""
    status: Any = getattr(exception, "status_code", None)
    if not isinstance(status, int) or status not in CLIENT_ERROR_STATUSES:
        return False
    names = {klass.__name__ for klass in type(exception).__mro__}
    return not names & FALLBACK_WORTHY_CLASSES
