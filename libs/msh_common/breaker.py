"""The platform's circuit breaker: stop calling a service that keeps failing.

closed --(N consecutive failures)--> open --(open_seconds)--> half-open --probe ok--> closed
                                       ^                            |
                                       +--------probe failed--------+

Open, calls are refused at once (:class:`BreakerOpen`, with the seconds to wait) instead of each
waiting for a connection error or a timeout. Half-open, one call at a time is let through as a
probe. Failures are transport failures only (refused or broken connections, timeouts, 5xx): an
answer is the service's answer, not a sign that it is unreachable.

The gateway uses :class:`CircuitBreaker` per upstream on its event loop (no lock on its hot
path; a successful ``/health`` probe also ends an open period early); orders calls the catalog
from a thread pool, through :class:`ThreadSafeCircuitBreaker`, the same rules under a lock.

Hand-written rather than a library: it is a few integer comparisons on the hot path, and
the common breaker packages are thread-based or wrap calls in ways that do not fit an
ASGI proxy that streams.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

CLOSED, HALF_OPEN, OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", HALF_OPEN: "half_open", OPEN: "open"}


class BreakerOpen(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"circuit open, retry after {retry_after}s")
        self.retry_after = retry_after


class CircuitBreaker:
    __slots__ = (
        "_clock",
        "_on_change",
        "_opened_at",
        "_probe_started",
        "failures",
        "name",
        "open_seconds",
        "state",
        "threshold",
    )

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        open_seconds: float = 10.0,
        on_change: Callable[[str, int], None] = lambda name, state: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.open_seconds = open_seconds
        self.state = CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._probe_started: float | None = None
        self._on_change = on_change
        self._clock = clock

    def allow(self) -> None:
        """Call before sending a request; raises :class:`BreakerOpen` when it may not go."""
        if self.state == CLOSED:
            return
        now = self._clock()
        if self.state == OPEN:
            remaining = self._opened_at + self.open_seconds - now
            if remaining > 0:
                raise BreakerOpen(max(1, math.ceil(remaining)))
            self._set(HALF_OPEN)
        # Half-open: one probe at a time. A probe that never reported back (its client
        # left) stops blocking the others after open_seconds.
        if self._probe_started is not None and now - self._probe_started < self.open_seconds:
            raise BreakerOpen(1)
        self._probe_started = now

    def success(self) -> None:
        self.failures = 0
        if self.state != CLOSED:
            self._probe_started = None
            self._set(CLOSED)

    def failure(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
            self._probe_started = None
            self._opened_at = self._clock()
            self._set(OPEN)

    def trip(self) -> None:
        """Open now, whatever the count: the service is known to be gone (its connection was
        refused, its health probe failed), so no request should wait to find out."""
        self.failures = max(self.failures, self.threshold)
        if self.state != OPEN:
            self._probe_started = None
            self._opened_at = self._clock()
            self._set(OPEN)

    def upstream_seen_healthy(self) -> None:
        """A health probe got through: let the next request probe without waiting."""
        if self.state == OPEN:
            self._probe_started = None
            self._set(HALF_OPEN)

    def _set(self, state: int) -> None:
        if state != self.state:
            self.state = state
            self._on_change(self.name, state)


class ThreadSafeCircuitBreaker(CircuitBreaker):
    """The same breaker for callers on several threads: every step under one lock."""

    __slots__ = ("_lock",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def allow(self) -> None:
        with self._lock:
            super().allow()

    def success(self) -> None:
        with self._lock:
            super().success()

    def failure(self) -> None:
        with self._lock:
            super().failure()

    def trip(self) -> None:
        with self._lock:
            super().trip()
