"""The single instance of each plugin, created (not configured) on first import of this module.

Kept apart from :mod:`litellm_plugins.hooks` so that LiteLLM executing `hooks.py` afresh (see its
docstring) still finds these objects in `sys.modules` instead of building second copies.

Creating them reads nothing: :func:`litellm_plugins.startup.start` reads the config and the
environment once, when the proxy loads its config, and configures each of them.
"""

from __future__ import annotations

from litellm_plugins.auth.hook import StaticTokenAuth
from litellm_plugins.claude_code_provider.provider import ClaudeCodeProvider
from litellm_plugins.guards.upstream_guard import UpstreamGuard
from litellm_plugins.limits.hook import ClientLimits
from litellm_plugins.request_log.hook import RequestLog
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.thinking.hook import ThinkingStripper
from litellm_plugins.transformer.hook import RequestTransformer
from litellm_plugins.usage.counter import UsageCounter

request_transformer = RequestTransformer()
client_limits = ClientLimits()
static_token_auth = StaticTokenAuth()
user_api_key_auth = static_token_auth.user_api_key_auth
token_rotator = TokenRotator()
thinking_stripper = ThinkingStripper()
upstream_guard = UpstreamGuard()
usage_counter = UsageCounter()
request_log = RequestLog(usage=usage_counter)
claude_code_provider = ClaudeCodeProvider()

__all__ = [
    "claude_code_provider",
    "client_limits",
    "request_log",
    "request_transformer",
    "static_token_auth",
    "thinking_stripper",
    "token_rotator",
    "upstream_guard",
    "usage_counter",
    "user_api_key_auth",
]
