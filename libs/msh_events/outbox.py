"""The transactional outbox relay, independent of where the outbox is stored.

A producer writes each event into its outbox in the same database transaction as the state
change that caused it, so an event exists if and only if the change was committed. The relay then
publishes it and marks it sent: right after the commit, the events the transaction wrote, as they
are (low latency, and no query to find them again), marked sent a batch at a time; and on a
periodic sweep whatever is still pending and at least :data:`SWEEP_MIN_AGE_SECONDS` old
(anything a crash or a broker outage left behind; younger events are the immediate relay's,
published and waiting for their batch to be marked); :mod:`.relay` runs both. An event may be
published twice (a crash after publishing, before marking; an immediate relay stalled past the
sweep's minimum age); consumers are idempotent, so that is harmless.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol

from kombu.exceptions import OperationalError as BrokerUnavailable

from msh_common.metrics import EVENTS_PUBLISHED, PUBLISH_LAG

from .envelope import Event

logger = logging.getLogger(__name__)

# The sweep leaves pending events younger than this to the immediate relay of the process that
# committed them: it publishes them at once and marks them sent in batches (relay.py), well
# within this time.
SWEEP_MIN_AGE_SECONDS = 2.0


class OutboxStore(Protocol):
    """Where a service keeps its outbox (a SQL table, a MongoDB collection...)."""

    def claim(
        self, limit: int, *, min_age_seconds: float = 0.0
    ) -> AbstractContextManager[Sequence[Event]]:
        """Yield up to ``limit`` pending events at least ``min_age_seconds`` old (by when they
        were added), oldest first, held against other relays.

        On a clean exit of the block they are marked sent; if the block raises they stay
        pending.
        """
        ...

    def mark_sent(self, ids: Sequence[str]) -> None:
        """Mark the events with these ids sent (those still pending)."""
        ...

    def backlog(self) -> int:
        """How many events are pending (for health and metrics)."""
        ...


class Publisher(Protocol):
    def publish(self, event: Event) -> None: ...


class OutboxRelay:
    """Moves pending events from an outbox to the broker."""

    def __init__(
        self,
        store: OutboxStore,
        publisher: Publisher,
        batch_size: int = 100,
        sweep_min_age_seconds: float = SWEEP_MIN_AGE_SECONDS,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.batch_size = batch_size
        self.sweep_min_age_seconds = sweep_min_age_seconds

    def sweep(self) -> int:
        """The periodic pass: publish what is pending and older than the sweep's minimum age."""
        return self.relay_pending(self.sweep_min_age_seconds)

    def relay_pending(self, min_age_seconds: float = 0.0) -> int:
        """Publish every pending event at least ``min_age_seconds`` old; return how many."""
        published = 0
        while True:
            claim = self.store.claim(self.batch_size, min_age_seconds=min_age_seconds)
            with claim as events:
                for event in events:
                    self.publisher.publish(event)
                published += len(events)
            _observe_published(events)
            if len(events) < self.batch_size:
                return published

    def publish_committed(self, event: Event) -> None:
        """Publish one event a transaction has just committed; the caller marks it sent
        (:meth:`mark_sent`, a batch at a time). If it raises, the event stays pending for the
        sweep."""
        self.publisher.publish(event)
        _observe_published((event,))

    def mark_sent(self, ids: Sequence[str]) -> None:
        self.store.mark_sent(ids)


def log_relay_failure(log: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled by a relay. The broker being down (every publish fails
    the same way, once per event while it lasts) is one WARNING line; anything else is an ERROR
    with its traceback."""
    exc = sys.exc_info()[1]
    if isinstance(exc, BrokerUnavailable):
        log.warning(message + " (broker unavailable: %s)", *args, exc)
    else:
        log.error(message, *args, exc_info=exc)


def _observe_published(events: Sequence[Event]) -> None:
    """Count what went out and how long it waited in the outbox."""
    now = datetime.now(UTC)
    for event in events:
        EVENTS_PUBLISHED.labels(event.producer, event.type).inc()
        try:
            occurred = datetime.fromisoformat(str(event.occurred_at))
            if occurred.tzinfo is None:
                occurred = occurred.replace(tzinfo=UTC)
            PUBLISH_LAG.labels(event.producer).observe(max((now - occurred).total_seconds(), 0))
        except (TypeError, ValueError):
            continue
