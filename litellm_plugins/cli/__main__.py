"""`python -m litellm_plugins.cli`: the same as `litellm-plugins`."""

from __future__ import annotations

from litellm_plugins.cli.commands import main

raise SystemExit(main())
