from __future__ import annotations

from typing import Any

from litellm_plugins.limits.metrics import METRIC_NAME, RefusalCounter


class Exported:
    """Stands in for a prometheus_client Counter (not installed in every environment)."""

    def __init__(self) -> None:
        self.increments: list[dict[str, str]] = []

    def labels(self, **labels: str) -> Any:
        outer = self

        class Child:
            def inc(self) -> None:
                outer.increments.append(labels)

        return Child()


def test_refusals_are_counted_by_client_and_limit() -> None:
    exported = Exported()
    counter = RefusalCounter(exported)
    counter.count("alice", "requests_per_minute")
    counter.count("alice", "requests_per_minute")
    counter.count("bob", "model_groups")
    assert counter.value("alice", "requests_per_minute") == 2
    assert counter.value("bob", "model_groups") == 1
    assert counter.value("bob", "tokens_per_day") == 0
    assert exported.increments == [
        {"client": "alice", "limit": "requests_per_minute"},
        {"client": "alice", "limit": "requests_per_minute"},
        {"client": "bob", "limit": "model_groups"},
    ]


def test_the_metric_name() -> None:
    assert f"{METRIC_NAME}_total" == "litellm_plugins_limit_refusals_total"
    assert (
        RefusalCounter.default().value("anyone", "max_concurrent") == 0
    )  # with or without prometheus_client
