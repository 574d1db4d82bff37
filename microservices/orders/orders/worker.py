"""The orders Celery worker: consumes the ``orders`` queue.

``celery -A orders.worker worker --queues orders --pool threads``
"""

from __future__ import annotations

from functools import cache

from msh_common.logging import configure_logging
from msh_common.tracing import instrument

from .bus import service_events
from .settings import SERVICE, get_settings
from .store.db import Database

settings = get_settings()
configure_logging(SERVICE, settings.log_level, settings.log_format)

instrument(SERVICE, "celery", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set


@cache
def database() -> Database:
    """The worker's engine, made on first use (after any fork); order.confirmed and
    order.cancelled written by handlers leave right after their commit."""
    db = Database(
        settings.database_url,
        pool_size=settings.orders_db_pool_size,
        max_overflow=settings.orders_db_max_overflow,
    )
    db.on_outbox_commit = events.after_commit
    return db


events = service_events(settings, database)
app = events.worker()
