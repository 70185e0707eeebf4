"""`litellm-plugins`: the bundle's command line (serve, pool, check, claude-settings).

The entry point `litellm_plugins.cli:main` is in :mod:`litellm_plugins.cli.commands`.
"""

from __future__ import annotations

from litellm_plugins.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
