from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from litellm_plugins.core.gc_tuning import (
    FreezeAfterFirstRequest,
    GarbageCollectionSettings,
    apply_thresholds,
    parse_gc_settings,
)
from litellm_plugins.core.settings import SettingsError, parse_settings


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def settings(section: Any) -> GarbageCollectionSettings:
    return parse_gc_settings(parse_settings({"garbage_collection": section}))


def test_no_section_changes_nothing() -> None:
    assert parse_gc_settings(parse_settings({})) == GarbageCollectionSettings()
    before = gc.get_threshold()
    assert apply_thresholds(GarbageCollectionSettings(), environ={}) is False
    assert gc.get_threshold() == before


def test_the_shipped_settings_parse() -> None:
    parsed = settings({"freeze_after_startup": True, "thresholds": [20000, 50, 100]})
    assert parsed == GarbageCollectionSettings(freeze_after_startup=True, thresholds=(20000, 50, 100))


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"thresholds": [20000, 50]}, "thresholds"),
        ({"thresholds": [0, 50, 100]}, "thresholds"),
        ({"thresholds": [True, 50, 100]}, "thresholds"),
        ({"thresholds": "20000,50,100"}, "thresholds"),
        ({"freeze_after_startup": "yes"}, "freeze_after_startup"),
        ({"freeze": True}, "unknown setting 'freeze'"),
    ],
)
def test_invalid_settings_name_the_key(section: dict[str, Any], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        settings(section)


def test_thresholds_are_applied_unless_litellms_variable_is_set() -> None:
    tuned = GarbageCollectionSettings(thresholds=(12345, 20, 30))
    before = gc.get_threshold()
    assert apply_thresholds(tuned, environ={"PYTHON_GC_THRESHOLD": "1000,10,10"}) is False
    assert gc.get_threshold() == before
    assert apply_thresholds(tuned, environ={}) is True
    assert gc.get_threshold() == (12345, 20, 30)


def _request(layer: FreezeAfterFirstRequest, method: str) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    asyncio.run(layer({"type": "http", "method": method, "path": "/"}, receive, send))


def test_startup_objects_are_frozen_once_after_the_first_post() -> None:
    served: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        served.append(scope["method"])

    layer = FreezeAfterFirstRequest(app)
    gc.unfreeze()
    _request(layer, "GET")  # a health check: not yet
    assert gc.get_freeze_count() == 0
    _request(layer, "POST")
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # this test process's modules and objects
    survivors = [[] for _ in range(1000)]  # containers, which the collector tracks
    _request(layer, "POST")
    # Once only: a second freeze would add the survivors (frozen objects can still be freed,
    # so the count may drop a little, never grow by them).
    assert gc.get_freeze_count() < frozen + len(survivors)
    assert served == ["GET", "POST", "POST"] and layer.frozen
