"""msh_common.breaker: the one circuit breaker (the gateway's per upstream, orders' for the
catalog from a thread pool)."""

from __future__ import annotations

import threading

import pytest

from msh_common.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerOpen,
    ThreadSafeCircuitBreaker,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_half_opens_for_one_trial_at_a_time():
    clock = Clock()
    breaker = ThreadSafeCircuitBreaker("catalog", threshold=3, open_seconds=10, clock=clock)
    for _ in range(2):
        breaker.allow()
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(3):
        breaker.allow()
        breaker.failure()
    assert breaker.state == OPEN
    with pytest.raises(BreakerOpen) as refused:
        breaker.allow()
    assert refused.value.retry_after == 10
    clock.now = 10
    breaker.allow()  # the trial...
    assert breaker.state == HALF_OPEN
    with pytest.raises(BreakerOpen):
        breaker.allow()  # ...one at a time
    breaker.failure()  # the trial failed: open again, for a full period
    with pytest.raises(BreakerOpen) as again:
        breaker.allow()
    assert again.value.retry_after == 10
    clock.now = 20
    breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED
    breaker.allow()
    breaker.allow()


def test_threads_let_exactly_one_trial_through():
    clock = Clock()
    breaker = ThreadSafeCircuitBreaker("catalog", threshold=1, open_seconds=5, clock=clock)
    breaker.failure()
    clock.now = 5
    allowed: list[bool] = []
    start = threading.Barrier(16)

    def try_once() -> None:
        start.wait()
        try:
            breaker.allow()
            allowed.append(True)
        except BreakerOpen:
            allowed.append(False)

    threads = [threading.Thread(target=try_once) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 15 + [True]
