"""The request log: one INFO line per request (`litellm_plugins.hooks.request_log`)."""
