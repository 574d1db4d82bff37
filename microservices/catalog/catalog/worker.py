"""The catalog's Celery app: consumes the ``catalog`` queue
(``celery -A catalog.worker worker --queues catalog --pool threads``)."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from catalog.bus import service_events
from catalog.settings import SERVICE, Settings, load_settings
from catalog.store import Store
from msh_common.logging import configure_logging
from msh_common.tracing import instrument


def create_worker_app(settings: Settings, store: Store | None = None) -> Celery:
    """A Celery app whose event task applies catalog events to ``store``."""
    connected = store or Store.connect(settings)
    return service_events(settings, lambda: connected).worker()


settings = load_settings()
instrument(SERVICE, "celery", "pymongo")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
app = create_worker_app(settings)


@signals.setup_logging.connect
def _configure_logging(**_: Any) -> None:
    """The worker logs like the web app (connecting here also keeps Celery's own setup off)."""
    configure_logging(SERVICE, settings.log_level, settings.log_format)
