"""The metadata keys the plugins pass state and contracts through, one constant each (pure).

Other plugins, logging callbacks and users' dashboards read these keys, so their values never
change. The auth plugin writes its keys into the auth result's metadata (`UserAPIKeyAuth.metadata`);
the others live in the request's metadata (:mod:`litellm_plugins.core.request_metadata`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# Written by the auth plugin into the auth result's metadata.
PROXY_TOKEN_NAME: Final = "proxy_token_name"
MAY_USE_CLAUDE_POOL: Final = "may_use_claude_pool"  # True only: anything else means not allowed
TOKEN_FINGERPRINT: Final = "token_fingerprint"
# Written into the request's metadata.
REQUESTED_MODEL: Final = "litellm_plugins_requested_model"  # the id the client sent, before aliasing
TRANSFORMER_CHANGES: Final = "litellm_plugins_transformer"
# The routing rule that chose the group: {"rule": name, "group": target, "requested_model": id}.
ROUTE: Final = "litellm_plugins_route"
INPUT_TOKENS_ESTIMATE: Final = "litellm_plugins_input_tokens"  # LiteLLM's estimate, counted once
ROTATOR_STATE: Final = "litellm_plugins_rotator"
THINKING_STATE: Final = "litellm_plugins_thinking"
# LiteLLM's own: the model group that serves this attempt.
MODEL_GROUP: Final = "model_group"


def may_use_claude_pool(user_api_key_dict: Any) -> bool:
    """Whether the auth result allows the shared Claude pool; fails closed (a missing key is no)."""
    auth_metadata = getattr(user_api_key_dict, "metadata", None)
    return isinstance(auth_metadata, Mapping) and auth_metadata.get(MAY_USE_CLAUDE_POOL) is True
