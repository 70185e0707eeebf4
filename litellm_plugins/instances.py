"""The single instance of each plugin, created on first import of this module.

Kept apart from :mod:`litellm_plugins.hooks` so that LiteLLM executing `hooks.py` afresh (see its
docstring) still finds these objects in `sys.modules` instead of building second copies.

The auth and rotator settings are read and validated here, when the proxy loads its config: a
weak proxy token or a malformed pool stops the proxy at startup with a message that says how to
fix it.
"""

from __future__ import annotations

import sys

from litellm_plugins.auth import StaticTokenAuth
from litellm_plugins.logging_setup import configure_logging
from litellm_plugins.protocol_errors import install_in_running_proxy
from litellm_plugins.rotator import TokenRotator
from litellm_plugins.status_route import install as install_status_route
from litellm_plugins.transformer import RequestTransformer

configure_logging()
install_in_running_proxy()

request_transformer = RequestTransformer()
static_token_auth = StaticTokenAuth.from_environ()
user_api_key_auth = static_token_auth.user_api_key_auth
token_rotator = TokenRotator()
if "litellm.proxy.proxy_server" in sys.modules:  # loaded by the proxy: validate at startup
    token_rotator.configure()
    proxy_app = getattr(sys.modules["litellm.proxy.proxy_server"], "app", None)
    if proxy_app is not None:
        install_status_route(proxy_app, token_rotator.status_report)

__all__ = ["request_transformer", "static_token_auth", "token_rotator", "user_api_key_auth"]
