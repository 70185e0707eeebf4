"""A LiteLLM custom provider that answers chat requests by running Claude Code (see :mod:`.provider`)."""
