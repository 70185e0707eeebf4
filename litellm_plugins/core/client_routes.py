"""The routes a proxy token may use: an explicit allow-list, everything else is the admin's (pure).

LiteLLM's own notion of an "LLM route" (`RouteChecks.is_llm_api_route`) also covers its provider
pass-through routes (`/openai/*`, `/openrouter/*`, `/anthropic/*`, `/gemini/*`, `/vllm/*`,
`/langfuse/*`, ...), which forward any request to a provider with the operator's own keys from
the environment, skipping model groups, the request transformer, the rotator's credential
isolation, the request guard and the client's pool permission. The bundle serves Claude Code and
Anthropic- or OpenAI-style clients through model groups only, so a proxy token (and the no-token
loopback and open modes) reaches exactly these routes:

    POST /v1/messages                 Anthropic Messages (Claude Code)
    POST /v1/messages/count_tokens    Anthropic token counting (Claude Code)
    POST /v1/chat/completions         OpenAI chat completions
    POST /chat/completions            the same without the /v1 prefix (OpenAI SDK base_url without /v1)
    GET  /v1/models, /models          the model groups a client may ask for
    POST /api/event_logging/batch     LiteLLM's no-op sink for Claude Code's telemetry (it
                                      answers `{"status": "ok"}` and forwards nothing)

Open to everyone, with no credential: the liveness and readiness probes (`/health/liveliness`,
`/health/liveness`, `/health/readiness`; Docker's healthcheck uses the first).

Every other route, including one a future LiteLLM adds, needs `LITELLM_MASTER_KEY` (403 for a
valid proxy token, 401 otherwise). That includes the routes LiteLLM itself serves without
authentication (its admin UI and SSO login pages, `/docs`, `/openapi.json`, `/langfuse/*`, ...,
several of which answer a 500 on a proxy without a database): the request guard applies the
auth decision to every request before LiteLLM routes it. The route is LiteLLM's
(`get_request_route`: the path without the query string and the proxy's `root_path`), matched
exactly.

Settings: none; the list is the product's surface, not a knob.
"""

from __future__ import annotations

from typing import Final

CLIENT_ROUTES: Final = frozenset(
    {
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/chat/completions",
        "/chat/completions",
        "/v1/models",
        "/models",
        "/api/event_logging/batch",
    }
)

OPEN_ROUTES: Final = frozenset({"/health/liveliness", "/health/liveness", "/health/readiness"})


def is_client_route(route: str) -> bool:
    """Whether a proxy token (or an anonymous loopback / open-mode client) may use `route`."""
    return route in CLIENT_ROUTES


def is_open_route(route: str) -> bool:
    """Whether `route` is served to anyone without a credential (the health probes)."""
    return route in OPEN_ROUTES
