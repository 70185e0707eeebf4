"""Where LiteLLM keeps a request's metadata, found the same way by every hook (pure).

`/v1/messages` requests carry it in `litellm_metadata`, chat completions in `metadata`. The
per-attempt hooks (`async_pre_call_deployment_hook`) see the same dict that the per-request hook
(`async_pre_call_hook`) wrote into, which is how a plugin passes its state from one to the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

METADATA_KEYS: Final = ("litellm_metadata", "metadata")


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
