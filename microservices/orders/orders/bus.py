"""orders on the event bus (msh_events.service): its outbox, processed events and dead letters
in PostgreSQL, its handlers, and the saga's pending-order sweep as a chore of the worker's outbox
sweep. Every process (web, worker) publishes through it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from msh_events.relay import Chore
from msh_events.service import ServiceEvents

from .events import QUEUE, make_consumer
from .settings import Settings
from .store.db import Database
from .store.events import SqlDeadLetterStore, SqlOutboxStore
from .sweeper import republish_stale_pending


def service_events(settings: Settings, database: Callable[[], Database]) -> ServiceEvents:
    """``database`` is called on first use, after any fork."""

    def store_gauges() -> None:
        from .metrics import register_store_gauges  # imported only where metrics are served

        register_store_gauges(database())

    def chores() -> Sequence[Chore]:
        return [
            Chore(
                "pending-order sweep",
                settings.orders_sweep_seconds,
                lambda: republish_stale_pending(database(), settings),
            )
        ]

    return ServiceEvents(
        name=QUEUE,
        broker_url=settings.broker_url,
        config=settings.events,
        outbox=lambda: SqlOutboxStore(database()),
        dead_letters=lambda: SqlDeadLetterStore(database()),
        consumer=lambda: make_consumer(database()),
        store_gauges=store_gauges,
        chores=chores,
    )
