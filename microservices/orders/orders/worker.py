"""The orders Celery worker: consumes the ``orders`` queue.

``celery -A orders.worker worker --queues orders --pool threads``
"""

from __future__ import annotations

from functools import cache

from msh_common.logging import configure_logging
from msh_common.tracing import instrument
from msh_events.relay import BackgroundRelay
from msh_events.tasks import register_event_task
from msh_events.worker import serve_metrics_when_ready

from .broker import celery_app, publisher
from .events import make_consumer
from .relay import make_relay
from .settings import SERVICE, get_settings
from .store.db import Database
from .store.events import SqlDeadLetterStore

settings = get_settings()
configure_logging(SERVICE, settings.log_level, settings.log_format)

instrument(SERVICE, "celery", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
app = celery_app(settings)


@cache
def database() -> Database:
    """The worker's engine, made on first use (after any fork); order.confirmed and
    order.cancelled written by handlers leave right after their commit."""
    db = Database(
        settings.database_url,
        pool_size=settings.orders_db_pool_size,
        max_overflow=settings.orders_db_max_overflow,
    )
    db.on_outbox_commit = BackgroundRelay(make_relay(db, publisher(settings))).kick
    return db


handle_event = register_event_task(
    app,
    consumer=lambda: make_consumer(database()),
    dead_letters=lambda: SqlDeadLetterStore(database()),
    policy=settings.events.retry_policy(),
)


def _store_gauges() -> None:
    from .metrics import register_store_gauges  # imported only where metrics are served

    register_store_gauges(database())


serve_metrics_when_ready(SERVICE, settings.broker_url, _store_gauges)
