"""Limits per client: requests per minute, tokens per day, concurrency and model groups."""
