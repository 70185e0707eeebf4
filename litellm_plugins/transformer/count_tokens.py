"""`POST /v1/messages/count_tokens` answered for every deployment, in Anthropic's shape.

LiteLLM (1.108) asks each deployment's provider to count. That works for Anthropic-compatible APIs
(GLM, Kimi, DeepSeek answer it), but chat-only OpenAI-compatible servers have no
`/v1/responses/input_tokens` (404), a group on Anthropic's own API whose credential is the
rotator's pool has no key to count with (401), and the bundle's `model_aliases` are not applied
(a Claude model id is counted for no group at all). This route, in front of LiteLLM's, counts the
way `/v1/messages` would route the request:

- the model is resolved as for `/v1/messages`: the routing rules (`litellm_plugins.routing`), an
  exact group, LiteLLM's `claude-router-<hex>` id (1.108), then `litellm_plugins.model_aliases`;
- a group on Anthropic's own API is asked with the credential the request would carry there (a
  leased pool token in rotate mode, the client's own in passthrough: `TokenRotator.count_credential`);
- a group on another Anthropic-compatible API is counted by LiteLLM, which asks the provider with
  the deployment's own key;
- anything else, and any provider that cannot count, gets LiteLLM's local estimate
  (`count_request_tokens(call_endpoint=False)`, the tokenizer of the deployment's model).

Authentication is LiteLLM's dependency (`user_api_key_auth`, so the bundle's custom auth). Errors
are Anthropic-shaped; a provider's failure is never the answer, the estimate is. Installed by
:mod:`litellm_plugins.startup` when the proxy loads; no settings of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request  # the route's annotation; FastAPI resolves it from this module

from litellm_plugins.core.deployment import provider_of
from litellm_plugins.core.errors import anthropic_error_body
from litellm_plugins.transformer.model_aliases import resolve_model_group

logger = logging.getLogger(__name__)

PATHS: Final = ("/v1/messages/count_tokens", "/anthropic/v1/messages/count_tokens")
ANTHROPIC_VERSION: Final = "2023-06-01"
OAUTH_BETA: Final = "oauth-2025-04-20"
UPSTREAM_TIMEOUT: Final = 15.0
LOG_ESTIMATED: Final = "count_tokens: %s (group %s) estimated locally: %s"
LOG_PROVIDER_FAILED: Final = "count_tokens: %s could not count (%s); local estimate instead"
LOG_NOT_COUNTED: Final = "routing: the input of a request for %s could not be estimated (%s)"

# (request headers, the auth result) -> the Claude credential this request may use, or None.
CredentialSource = Callable[[Mapping[str, str], Any], Awaitable[str | None]]
# (body, request headers, the auth result) -> the group a routing rule chooses, or None.
RuleRoute = Callable[[Mapping[str, Any], Mapping[str, str], Any], Awaitable[str | None]]


@dataclass(frozen=True)
class CountPlan:
    """How one count_tokens request is answered (pure decision, see :func:`plan_count`)."""

    group: str | None
    how: str  # "anthropic_api" | "provider" | "local"
    upstream_model: str | None = None
    api_base: str | None = None


def wildcard_model(deployment_model: str, requested: str) -> str | None:
    """`anthropic/*` asked for `claude-sonnet-4-5` counts `claude-sonnet-4-5`; None if no match."""
    _, _, pattern = deployment_model.partition("/")
    if "*" not in pattern:
        return pattern or None
    from fnmatch import fnmatchcase

    return requested if fnmatchcase(requested.lower(), pattern.lower()) else None


def resolve_group(
    requested: str,
    groups: Sequence[str],
    aliases: Sequence[tuple[str, str]],
    decode_router_id: Callable[[str, Sequence[str]], str | None] | None = None,
) -> str | None:
    """The model group `/v1/messages` would serve `requested` from, or None."""
    if requested in groups:
        return requested
    if decode_router_id is not None:
        decoded = decode_router_id(requested, groups)
        if decoded:
            return decoded
    return resolve_model_group(requested, aliases, groups)


def plan_count(
    requested: str,
    group: str | None,
    deployment: Mapping[str, Any] | None,
    is_anthropic_api: Callable[[str | None], bool],
) -> CountPlan:
    """Anthropic's own API, another Anthropic-compatible API, or a local estimate (pure)."""
    if group is None or deployment is None:
        return CountPlan(group, "local")
    params = deployment.get("litellm_params") or {}
    model = str(params.get("model") or "")
    if provider_of(model, params.get("custom_llm_provider")) != "anthropic":
        return CountPlan(group, "local")
    api_base = params.get("api_base") if isinstance(params.get("api_base"), str) else None
    if not is_anthropic_api(api_base):
        return CountPlan(group, "provider")
    upstream = wildcard_model(model, requested)
    if upstream is None or (upstream == group and "*" in model):  # a group name is no model id
        return CountPlan(group, "local")
    return CountPlan(group, "anthropic_api", upstream_model=upstream, api_base=api_base)


def anthropic_request_headers(credential: str, client_headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for Anthropic's own count_tokens with `credential` (an OAuth token or an API key)."""
    headers = {
        "content-type": "application/json",
        "anthropic-version": client_headers.get("anthropic-version") or ANTHROPIC_VERSION,
    }
    betas = [b.strip() for b in (client_headers.get("anthropic-beta") or "").split(",") if b.strip()]
    if credential.startswith("sk-ant-oat"):
        headers["authorization"] = f"Bearer {credential}"
        if OAUTH_BETA not in betas:
            betas.append(OAUTH_BETA)
    else:
        headers["x-api-key"] = credential
    if betas:
        headers["anthropic-beta"] = ",".join(betas)
    return headers


def count_body(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The fields Anthropic's count_tokens accepts, for `model`."""
    keep = ("messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")
    return {"model": model, **{key: body[key] for key in keep if key in body}}


def _error(status: int, message: str) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status, content=anthropic_error_body(status, message))


def router_id_decoder() -> Callable[[str, Sequence[str]], str | None] | None:
    try:  # LiteLLM 1.108 lists groups for Claude Code's picker as claude-router-<hex of the name>
        from litellm.proxy.common_utils.model_listing_utils import claude_code_group_name
    except ImportError:
        return None
    return lambda view_id, groups: claude_code_group_name(view_id, frozenset(groups))


class TokenCounter:
    """The route's behaviour; dependencies are passed in so the rules stay testable."""

    def __init__(
        self,
        aliases: Sequence[tuple[str, str]],
        is_anthropic_api: Callable[[str | None], bool],
        credential_for: CredentialSource,
        rule_route: RuleRoute | None = None,
    ) -> None:
        self.aliases = tuple(aliases)
        self.is_anthropic_api = is_anthropic_api
        self.credential_for = credential_for
        self.rule_route = rule_route
        self.decode_router_id = router_id_decoder()

    async def answer(self, request: Any, user_api_key_dict: Any) -> Any:
        from litellm.proxy.common_utils.http_parsing_utils import _read_request_body

        body = await _read_request_body(request=request)
        requested = body.get("model") if isinstance(body, dict) else None
        if not isinstance(requested, str) or not requested.strip():
            return _error(400, "model: required, a non-empty string")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "messages: required, a non-empty list of messages")
        router = _llm_router()
        groups = list(getattr(router, "model_names", None) or ())
        headers = {str(k).lower(): str(v) for k, v in request.headers.items()}
        routed = await self.rule_route(body, headers, user_api_key_dict) if self.rule_route else None
        group = routed or resolve_group(requested, groups, self.aliases, self.decode_router_id)
        deployment = await _deployment(router, group)
        plan = plan_count(requested, group, deployment, self.is_anthropic_api)
        if plan.how == "anthropic_api":
            counted = await self._ask_anthropic(plan, body, headers, user_api_key_dict)
            if counted is not None:
                return {"input_tokens": counted, "litellm_count_source": "provider"}
        elif plan.how == "provider":
            counted = await _litellm_count(plan.group or requested, body, call_endpoint=True)
            if isinstance(counted, int):
                return {"input_tokens": counted, "litellm_count_source": "provider"}
            logger.info(LOG_PROVIDER_FAILED, plan.group, counted)
        estimate = await _litellm_count(plan.group or requested, body, call_endpoint=False)
        if not isinstance(estimate, int):
            return _error(400, f"These messages cannot be counted: {estimate}")
        logger.debug(LOG_ESTIMATED, requested, plan.group, estimate)
        return {"input_tokens": estimate, "litellm_count_source": "local_estimate"}

    async def _ask_anthropic(
        self, plan: CountPlan, body: Mapping[str, Any], headers: Mapping[str, str], user_api_key_dict: Any
    ) -> int | None:
        credential = await self.credential_for(headers, user_api_key_dict)
        if credential is None:
            return None
        from litellm.llms.custom_httpx.http_handler import get_async_httpx_client
        from litellm.types.utils import LlmProviders

        client = get_async_httpx_client(llm_provider=LlmProviders.ANTHROPIC)
        url = (plan.api_base or "https://api.anthropic.com").rstrip("/") + "/v1/messages/count_tokens"
        try:
            response = await client.client.post(
                url,
                json=count_body(body, plan.upstream_model or ""),
                headers=anthropic_request_headers(credential, headers),
                timeout=UPSTREAM_TIMEOUT,
            )
        except Exception as error:  # noqa: BLE001 - any transport failure: estimate instead
            logger.info(LOG_PROVIDER_FAILED, plan.group, type(error).__name__)
            return None
        if response.status_code != 200:
            logger.info(LOG_PROVIDER_FAILED, plan.group, f"HTTP {response.status_code}")
            return None
        try:
            counted = response.json().get("input_tokens")
        except ValueError:
            counted = None
        return counted if isinstance(counted, int) and not isinstance(counted, bool) else None


def _llm_router() -> Any:
    from litellm.proxy import proxy_server

    return getattr(proxy_server, "llm_router", None)


async def _deployment(router: Any, group: str | None) -> Mapping[str, Any] | None:
    if router is None or group is None:
        return None
    try:
        return await router.async_get_available_deployment(model=group, request_kwargs={})
    except Exception:  # noqa: BLE001 - no healthy deployment: the estimate still answers
        listed = router.get_model_list(model_name=group) or []
        return listed[0] if listed else None


async def _litellm_count(
    model: str, body: Mapping[str, Any], call_endpoint: bool, messages_format: str = "anthropic"
) -> int | str:
    """LiteLLM's own count for `model` (a group): the total, or why it could not count."""
    from litellm.proxy._types import TokenCountRequest
    from litellm.proxy.proxy_server import count_request_tokens

    request = TokenCountRequest(
        model=model,
        messages=list(body.get("messages") or []),
        tools=body.get("tools"),
        system=body.get("system") if messages_format == "anthropic" else None,
    )
    try:
        response = await count_request_tokens(
            request=request,
            call_endpoint=call_endpoint,
            messages_format=messages_format,  # type: ignore[arg-type]
        )
    except Exception as error:  # noqa: BLE001 - HTTPException, ProxyException, a tokenizer error
        detail = getattr(error, "message", None) or getattr(error, "detail", None) or type(error).__name__
        return str(detail)[:300]
    total = getattr(response, "total_tokens", None)
    return total if isinstance(total, int) else "no count"


async def local_estimate(model: str, body: Mapping[str, Any], messages_format: str) -> int | None:
    """LiteLLM's local estimate of `body`'s input tokens for `model` (the routing rules' counter);
    None when it cannot count (logged)."""
    counted = await _litellm_count(model, body, call_endpoint=False, messages_format=messages_format)
    if isinstance(counted, int):
        return counted
    logger.info(LOG_NOT_COUNTED, model, counted)
    return None


def install(app: Any, counter: TokenCounter) -> bool:
    """Put the route in front of LiteLLM's own count_tokens routes, once."""
    if app is None or getattr(app, "_litellm_plugins_count_tokens", False):
        return False
    from fastapi import Depends
    from fastapi.routing import APIRoute
    from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

    async def count_tokens(request: Request, user_api_key_dict: Any = Depends(user_api_key_auth)) -> Any:  # noqa: B008
        return await counter.answer(request, user_api_key_dict)

    routes = [APIRoute(path, count_tokens, methods=["POST"], include_in_schema=False) for path in PATHS]
    app.router.routes[0:0] = routes
    app._litellm_plugins_count_tokens = True
    logger.info(
        "count_tokens: answered for every deployment (local estimate where the provider cannot count)"
    )
    return True
