"""msh_common.gc_freeze: what existed at the call is frozen, what comes after is not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from msh_common.gc_freeze import freeze_startup_objects


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_startup_objects_are_frozen_and_the_thresholds_set() -> None:
    built_at_startup = [[] for _ in range(100)]  # containers: tracked by the collector
    freeze_startup_objects((5_000, 15, 15))
    frozen = gc.get_freeze_count()
    assert frozen >= len(built_at_startup)
    assert gc.get_threshold() == (5_000, 15, 15)
    later = [[] for _ in range(100)]
    assert gc.get_freeze_count() == frozen  # what comes after stays collectable
    assert len(later) == 100


@pytest.mark.usefixtures("collector")
def test_the_thresholds_stay_unless_given() -> None:
    before = gc.get_threshold()
    freeze_startup_objects()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() > 0
