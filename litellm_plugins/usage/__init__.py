"""Usage per client: counters over rolling windows, shared through Redis, and the metrics."""
