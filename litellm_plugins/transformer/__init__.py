"""The request transformer: model aliases, per-deployment request rules, tool schemas, count_tokens."""
