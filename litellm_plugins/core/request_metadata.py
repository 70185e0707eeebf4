"""Where LiteLLM keeps a request's metadata, found the same way by every hook (pure).

`/v1/messages` requests carry it in `litellm_metadata`, chat completions in `metadata`. The
per-attempt hooks (`async_pre_call_deployment_hook`) see the same dict that the per-request hook
(`async_pre_call_hook`) wrote into, which is how a plugin passes its state from one to the other.

The keys the plugins read and write are the constants below (other plugins, logging callbacks
and users' dashboards read them too, so their values never change). The auth plugin's keys live in
the auth result's metadata (`UserAPIKeyAuth.metadata`), the others in the request's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

METADATA_KEYS: Final = ("litellm_metadata", "metadata")

# Written by the auth plugin into the auth result's metadata.
PROXY_TOKEN_NAME: Final = "proxy_token_name"
MAY_USE_CLAUDE_POOL: Final = "may_use_claude_pool"  # True only: anything else means not allowed
TOKEN_FINGERPRINT: Final = "token_fingerprint"
# Written into the request's metadata.
REQUESTED_MODEL: Final = "litellm_plugins_requested_model"  # the id the client sent, before aliasing
TRANSFORMER_CHANGES: Final = "litellm_plugins_transformer"
ROTATOR_STATE: Final = "litellm_plugins_rotator"
THINKING_STATE: Final = "litellm_plugins_thinking"
# LiteLLM's own: the model group that serves this attempt.
MODEL_GROUP: Final = "model_group"


def request_metadata(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request's metadata dict (to read or to write into), or None if it has none."""
    for key in METADATA_KEYS:
        value = request.get(key)
        if isinstance(value, dict):
            return value
    return None


def metadata_value(request: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """The first `name` of type `kind` in either metadata dict, or None."""
    for key in METADATA_KEYS:
        metadata = request.get(key)
        if isinstance(metadata, dict) and isinstance(metadata.get(name), kind):
            return metadata[name]
    return None


def may_use_claude_pool(user_api_key_dict: Any) -> bool:
    """Whether the auth result allows the shared Claude pool; fails closed (a missing key is no)."""
    auth_metadata = getattr(user_api_key_dict, "metadata", None)
    return isinstance(auth_metadata, Mapping) and auth_metadata.get(MAY_USE_CLAUDE_POOL) is True
