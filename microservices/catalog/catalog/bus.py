"""The catalog on the event bus (msh_events.service): its outbox, dead letters and handlers on
MongoDB. Events written by a handler leave right after it (the worker's after-commit relay);
the worker's outbox sweep sends whatever that could not."""

from __future__ import annotations

from collections.abc import Callable

from catalog.events import CatalogEvents
from catalog.settings import SERVICE, Settings
from catalog.store import Store
from msh_events.consumer import IdempotentConsumer, RecordNothing
from msh_events.service import ServiceEvents


def service_events(settings: Settings, store: Callable[[], Store]) -> ServiceEvents:
    def consumer() -> IdempotentConsumer:
        # The handlers are idempotent by the order's decision document (catalog.events).
        return IdempotentConsumer(RecordNothing(), handlers)

    def store_gauges() -> None:
        from catalog.metrics import register_store_gauges  # only where metrics are served

        register_store_gauges(store())

    events = ServiceEvents(
        name=SERVICE,
        broker_url=settings.redis_url,
        config=settings.events,
        outbox=lambda: store().outbox,
        dead_letters=lambda: store().dead_letters,
        consumer=consumer,
        store_gauges=store_gauges,
    )
    handlers = CatalogEvents(store(), published=events.after_commit).handlers()
    return events
