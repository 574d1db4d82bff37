"""The orders Celery app: its worker consumes the ``orders`` queue; every process publishes
through one (web, worker, relay)."""

from __future__ import annotations

from celery import Celery

from msh_events.celery_app import make_celery_app
from msh_events.publisher import CeleryPublisher

from .events import QUEUE
from .settings import Settings


def celery_app(settings: Settings) -> Celery:
    return make_celery_app(
        QUEUE,
        settings.broker_url,
        settings.events,
    )


def publisher(settings: Settings) -> CeleryPublisher:
    return CeleryPublisher(celery_app(settings))
