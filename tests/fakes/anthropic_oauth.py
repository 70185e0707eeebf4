"""A strict fake of Anthropic's OAuth token endpoint (`POST /v1/oauth/token`, refresh grant only).

What Claude Code 2.1 sends to `https://platform.claude.com/v1/oauth/token` when it refreshes a
login: a JSON body `{"grant_type": "refresh_token", "refresh_token", "client_id", "scope"}`.
The fake answers like an OAuth 2 server (RFC 6749 section 5.2 error shapes):

- a body that is not a JSON object: 400 `invalid_request`;
- a `grant_type` other than `refresh_token`: 400 `unsupported_grant_type`;
- a `client_id` other than Claude Code's: 401 `invalid_client`;
- a missing, unknown, revoked or already used refresh token: 400 `invalid_grant` (refresh tokens
  rotate: each works once);
- otherwise 200 with a new `access_token`, a new `refresh_token`, `expires_in` and `scope`.

Every call is counted (`calls`, `refreshes`); `delay` slows each answer so concurrent callers
overlap; `fail_with(status)` answers the next calls with a server error. When given the
Anthropic fake, a refresh makes it accept the new access token and refuse the old one (401
"OAuth token has expired."), as a real refresh does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.server import FakeUpstream

CLAUDE_CODE_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
DEFAULT_EXPIRES_IN = 28800


@dataclass
class IssuedPair:
    access_token: str
    refresh_token: str


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class FakeOAuthServer(FakeUpstream):
    def __init__(
        self,
        refresh_tokens: dict[str, str | None] | None = None,
        anthropic: FakeAnthropic | None = None,
        expires_in: int = DEFAULT_EXPIRES_IN,
        delay: float = 0.0,
    ) -> None:
        """`refresh_tokens`: each valid refresh token and the access token it currently backs."""
        self._lock = threading.Lock()
        self._valid: dict[str, str | None] = dict(refresh_tokens or {})
        self._spent: set[str] = set()
        self._anthropic = anthropic
        self._counter = itertools.count(1)
        self.expires_in = expires_in
        self.delay = delay
        self.calls: list[dict[str, Any]] = []  # every request body (tests assert on them)
        self.issued: list[IssuedPair] = []
        self._failures: list[int] = []
        self.app = Starlette(routes=[Route("/v1/oauth/token", self.token, methods=["POST"])])

    @property
    def token_url(self) -> str:
        return f"{self.url}/v1/oauth/token"

    def add_refresh_token(self, refresh_token: str, access_token: str | None = None) -> None:
        with self._lock:
            self._valid[refresh_token] = access_token

    def fail_with(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    @property
    def refreshes(self) -> int:
        """Successful refreshes."""
        return len(self.issued)

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.calls.append(body if isinstance(body, dict) else {"unparsable": True})
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                return oauth_error(status, "server_error", "The server encountered an unexpected error.")
        if not isinstance(body, dict) or "application/json" not in request.headers.get("content-type", ""):
            return oauth_error(400, "invalid_request", "The request body must be a JSON object.")
        if body.get("grant_type") != "refresh_token":
            return oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")
        if body.get("client_id") != CLAUDE_CODE_CLIENT_ID:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        refresh = body.get("refresh_token")
        with self._lock:
            if not isinstance(refresh, str) or refresh not in self._valid:
                return oauth_error(400, "invalid_grant", "Invalid 'refresh_token' in request.")
            old_access = self._valid.pop(refresh)
            self._spent.add(refresh)
            number = next(self._counter)
            issued = IssuedPair(
                f"sk-ant-oat01-refreshed-{number}-" + "r" * 40, f"sk-ant-ort01-refreshed-{number}-" + "s" * 40
            )
            self._valid[issued.refresh_token] = issued.access_token
            self.issued.append(issued)
        if self._anthropic is not None:
            self._anthropic.replace_oauth_token(old_access, issued.access_token)
        scope = body.get("scope") if isinstance(body.get("scope"), str) else "user:inference"
        return JSONResponse(
            {
                "token_type": "Bearer",
                "access_token": issued.access_token,
                "refresh_token": issued.refresh_token,
                "expires_in": self.expires_in,
                "scope": scope,
            }
        )
