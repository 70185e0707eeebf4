"""The bundle's Prometheus metrics (litellm_plugins.usage.metrics) on a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from litellm_plugins.usage.metrics import create_metrics, pool_samples, utilization_of
from litellm_plugins.usage.record import UsageRecord, parse_failover

NOW = 1_000_000.0
ROWS = [
    {"pool": "claude", "fingerprint": "fp:aaaaaaaa", "healthy": True, "cooling_until": None,
     "requests": 4, "rate_limits": 0, "utilization": {"5h": 0.25, "7d": 0.5}},
    {"pool": "claude", "fingerprint": "fp:bbbbbbbb", "healthy": False, "cooling_until": NOW + 30,
     "requests": 2, "rate_limits": 1, "windows": {"5h": {"utilization": 1.0, "reset": NOW + 30}}},
]  # fmt: skip


def test_pool_samples_read_health_cooldown_and_any_window_utilization() -> None:
    samples = pool_samples(ROWS, NOW)
    assert samples["cooling"] == [
        ({"pool": "claude", "token": "fp:aaaaaaaa"}, 0.0),
        ({"pool": "claude", "token": "fp:bbbbbbbb"}, 1.0),
    ]
    assert samples["cooldown_seconds"][1] == ({"pool": "claude", "token": "fp:bbbbbbbb"}, 30.0)
    assert utilization_of(ROWS[0]) == {"5h": 0.25, "7d": 0.5}
    assert utilization_of(ROWS[1]) == {"5h": 1.0}
    assert utilization_of({"utilization": {"5h": "high"}}) == {}


def test_a_scrape_shows_usage_failovers_fallbacks_and_the_pool() -> None:
    registry = CollectorRegistry()
    metrics = create_metrics(registry, lambda: ROWS, lambda: NOW)
    assert metrics is not None
    record = UsageRecord("alice", "sonnet", "anthropic/claude-sonnet-4-5", "fp:aaaaaaaa", 200, 10, 5, 100, 0)
    failover = parse_failover("claude fp:bbbbbbbb HTTP 429")
    assert failover is not None
    metrics.observe(record, [failover], ["flaky"])
    metrics.observe(record, [], [])
    value = registry.get_sample_value
    usage = {
        "client": "alice",
        "group": "sonnet",
        "deployment": "anthropic/claude-sonnet-4-5",
        "token": "fp:aaaaaaaa",
    }
    assert value("litellm_plugins_requests_total", {**usage, "status": "200"}) == 2
    assert value("litellm_plugins_tokens_total", {**usage, "type": "cache_read"}) == 200
    assert value("litellm_plugins_tokens_total", {**usage, "type": "input"}) == 20
    assert value("litellm_plugins_tokens_total", {**usage, "type": "cache_write"}) is None  # none: no series
    failed = {"pool": "claude", "token": "fp:bbbbbbbb"}
    assert value("litellm_plugins_failovers_total", {**failed, "status": "429"}) == 1
    fallback = {"client": "alice", "group": "flaky", "to_group": "sonnet"}
    assert value("litellm_plugins_fallbacks_total", fallback) == 1
    assert value("litellm_plugins_pool_token_cooling", failed) == 1
    assert value("litellm_plugins_pool_token_cooling", {**failed, "token": "fp:aaaaaaaa"}) == 0
    assert value("litellm_plugins_pool_token_cooldown_seconds", failed) == 30
    healthy = {"pool": "claude", "token": "fp:aaaaaaaa", "window": "7d"}
    assert value("litellm_plugins_pool_token_utilization", healthy) == 0.5
    assert value("litellm_plugins_pool_token_rate_limits_total", failed) == 1
    assert value("litellm_plugins_pool_token_requests_total", failed) == 2
    assert "litellm_plugins_pool_token_cooling{" in generate_latest(registry).decode()


def test_a_pool_that_is_not_started_leaves_the_scrape_working() -> None:
    def not_started() -> list[dict[str, object]]:
        raise RuntimeError("the token rotator is not configured")

    registry = CollectorRegistry()
    create_metrics(registry, not_started, lambda: NOW)
    assert "litellm_plugins_pool_token_cooling" in generate_latest(registry).decode()


def test_a_second_copy_on_the_same_registry_leaves_the_first_counting() -> None:
    registry = CollectorRegistry()
    first = create_metrics(registry, None, lambda: NOW)
    assert first is not None
    assert create_metrics(registry, None, lambda: NOW) is None  # instead of failing the startup
    first.observe(UsageRecord("alice"), [], [])
    assert (
        registry.get_sample_value(
            "litellm_plugins_requests_total",
            {"client": "alice", "group": "-", "deployment": "-", "token": "-", "status": "200"},
        )
        == 1
    )
