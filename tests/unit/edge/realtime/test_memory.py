"""tune_gc: start-up objects frozen out of collections, thresholds raised."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from edge.realtime import tune_gc
from edge.realtime.memory import THRESHOLDS


@pytest.fixture
def restored_gc() -> Iterator[None]:
    previous = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*previous)


def test_tuning_freezes_what_lives_now_and_raises_the_thresholds(restored_gc: None) -> None:
    before = gc.get_threshold()
    assert tune_gc() == before
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0
