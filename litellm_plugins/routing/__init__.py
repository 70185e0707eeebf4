"""Routing rules (`litellm_plugins.routing`): which model group serves a request, what a group can serve."""
