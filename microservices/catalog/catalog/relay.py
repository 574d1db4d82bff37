"""The outbox relay: right after a handler wrote an event, and as a periodic sweep
(``python -m catalog relay``, its own process)."""

from __future__ import annotations

import logging
import signal
import threading

from celery import Celery

from catalog.settings import SERVICE, Settings
from catalog.store import Store
from msh_events import OutboxRelay, log_relay_failure
from msh_events.celery_app import make_celery_app
from msh_events.publisher import CeleryPublisher

logger = logging.getLogger(__name__)


def publisher_app(settings: Settings) -> Celery:
    """A Celery app for sending only (the relay and replays; the worker has its own)."""
    return make_celery_app(
        SERVICE,
        settings.redis_url,
        visibility_timeout=settings.celery_visibility_timeout,
        restore_interval=settings.celery_restore_interval,
    )


def make_relay(store: Store, app: Celery) -> OutboxRelay:
    return OutboxRelay(store.outbox, CeleryPublisher(app))


def relay_now(relay: OutboxRelay) -> None:
    """Best effort, right after an event was written; a failure is left to the sweep."""
    try:
        relay.relay_pending()
    except Exception:
        log_relay_failure(logger, "immediate outbox relay failed; the sweep will retry")


def run_sweep(relay: OutboxRelay, interval: float) -> None:
    """Relay every ``interval`` seconds until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logger.info("outbox relay started", extra={"interval": interval})
    relay.run_forever(interval, stop)
