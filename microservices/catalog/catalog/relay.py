"""The outbox relay (msh_events.relay): right after a handler wrote an event (the worker's
``BackgroundRelay``), and as a periodic sweep (``python -m catalog relay``, its own process)."""

from __future__ import annotations

import logging

from celery import Celery

from catalog.settings import SERVICE, Settings
from catalog.store import Store
from msh_events import OutboxRelay
from msh_events.celery_app import make_celery_app
from msh_events.publisher import CeleryPublisher
from msh_events.relay import run_relay_process

logger = logging.getLogger(__name__)


def publisher_app(settings: Settings) -> Celery:
    """A Celery app for sending only (the relay and replays; the worker has its own)."""
    return make_celery_app(
        SERVICE,
        settings.redis_url,
        settings.events,
    )


def make_relay(store: Store, app: Celery) -> OutboxRelay:
    return OutboxRelay(store.outbox, CeleryPublisher(app))


def run_sweep(relay: OutboxRelay, interval: float) -> None:
    """Relay every ``interval`` seconds until SIGINT or SIGTERM."""
    run_relay_process(relay, interval)
