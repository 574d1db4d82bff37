"""The transactional outbox relay, independent of where the outbox is stored.

A producer writes each event into its outbox in the same database transaction as the state
change that caused it, so an event exists if and only if the change was committed. The relay then
publishes it and marks it sent: right after the commit, the events the transaction wrote, as they
are (low latency, and no query to find them again), and on a periodic sweep whatever is still
pending (anything a crash or a broker outage left behind); :mod:`.relay` runs both. An event may
be published twice (a crash after publishing, before marking; the sweep meeting an event between
its commit and its marking); consumers are idempotent, so that is harmless.
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


class OutboxStore(Protocol):
    """Where a service keeps its outbox (a SQL table, a MongoDB collection...)."""

    def claim(self, limit: int) -> AbstractContextManager[Sequence[Event]]:
        """Yield up to ``limit`` pending events, oldest first, held against other relays.

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

    def __init__(self, store: OutboxStore, publisher: Publisher, batch_size: int = 100) -> None:
        self.store = store
        self.publisher = publisher
        self.batch_size = batch_size

    def relay_pending(self) -> int:
        """Publish every pending event; return how many were published."""
        published = 0
        while True:
            with self.store.claim(self.batch_size) as events:
                for event in events:
                    self.publisher.publish(event)
                published += len(events)
            _observe_published(events)
            if len(events) < self.batch_size:
                return published

    def publish_committed(self, events: Sequence[Event]) -> None:
        """Publish events a transaction has just committed and mark them sent. If publishing
        fails part way, the rest stay pending for the sweep (and the error propagates)."""
        published: list[Event] = []
        try:
            for event in events:
                self.publisher.publish(event)
                published.append(event)
        finally:
            if published:
                self.store.mark_sent([event.id for event in published])
                _observe_published(published)


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
    """Count what went out and how long it waited in the outbox (after the marking commit)."""
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
