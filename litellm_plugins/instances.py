"""The single instance of each plugin, created on first import of this module.

Kept apart from :mod:`litellm_plugins.hooks` so that LiteLLM executing `hooks.py` afresh (see its
docstring) still finds these objects in `sys.modules` instead of building second copies.
"""

from __future__ import annotations

from litellm_plugins.logging_setup import configure_logging
from litellm_plugins.protocol_errors import install_in_running_proxy
from litellm_plugins.transformer import RequestTransformer

configure_logging()
install_in_running_proxy()

request_transformer = RequestTransformer()

__all__ = ["request_transformer"]
