"""The catalog's Celery app: consumes the ``catalog`` queue
(``celery -A catalog.worker worker --queues catalog --pool threads``)."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from catalog.events import CatalogEvents
from catalog.relay import make_relay
from catalog.settings import SERVICE, Settings, load_settings
from catalog.store import Store
from msh_common.logging import configure_logging
from msh_common.tracing import instrument
from msh_events.celery_app import make_celery_app
from msh_events.consumer import IdempotentConsumer
from msh_events.relay import BackgroundRelay
from msh_events.tasks import register_event_task
from msh_events.worker import serve_metrics_when_ready


def create_worker_app(settings: Settings, store: Store | None = None) -> Celery:
    """A Celery app whose event task applies catalog events to ``store``."""
    store = store or Store.connect(settings)
    app = make_celery_app(
        SERVICE,
        settings.redis_url,
        settings.events,
    )
    relay = BackgroundRelay(make_relay(store, app))
    events = CatalogEvents(store, published=relay.kick)
    consumer = IdempotentConsumer(store.processed, events.handlers())
    register_event_task(
        app,
        consumer=lambda: consumer,
        dead_letters=lambda: store.dead_letters,
        policy=settings.events.retry_policy(),
    )
    app.conf.catalog_store = store
    return app


settings = load_settings()
instrument(SERVICE, "celery", "pymongo")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
app = create_worker_app(settings)


@signals.setup_logging.connect
def _configure_logging(**_: Any) -> None:
    """The worker logs like the web app (connecting here also keeps Celery's own setup off)."""
    configure_logging(SERVICE, settings.log_level, settings.log_format)


def _store_gauges() -> None:
    from catalog.metrics import register_store_gauges  # imported only where metrics are served

    register_store_gauges(app.conf.catalog_store)


serve_metrics_when_ready(SERVICE, settings.redis_url, _store_gauges)
