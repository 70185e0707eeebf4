"""LiteLLM proxy plugins that let Claude Code run through a stock LiteLLM proxy against any provider.

The proxy's `config.yaml` points at the instances in :mod:`litellm_plugins.hooks`; everything
else here is plain functions those hooks call. Importing this package has no side effects.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
