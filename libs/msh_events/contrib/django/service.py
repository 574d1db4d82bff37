"""This Django service's :class:`~msh_events.service.ServiceEvents`, built from its settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from msh_common.metrics import register_gauges
from msh_events.consumer import IdempotentConsumer
from msh_events.service import ServiceEvents

from .stores import (
    DjangoDeadLetterStore,
    DjangoOutboxStore,
    DjangoProcessedEventStore,
    fresh_connection,
)


@cache
def consumer() -> IdempotentConsumer:
    """The worker's consumer, made on the first event (the handlers are imported once, not
    for every message; the consumer keeps no state between events)."""
    return IdempotentConsumer(DjangoProcessedEventStore(), import_string(settings.EVENTS_HANDLERS))


@cache
def service_events() -> ServiceEvents:
    return ServiceEvents(
        name=settings.EVENTS_SERVICE,
        broker_url=settings.CELERY_BROKER_URL,
        config=settings.EVENTS,
        outbox=DjangoOutboxStore,
        dead_letters=DjangoDeadLetterStore,
        consumer=consumer,
        store_gauges=register_store_gauges,
    )


# Celery's Django fix-up closes every database connection before and after every task unless
# this is set (celery#9824), so each event cost a new PostgreSQL backend; it now closes them only
# once in this many task boundaries, and Django's own rules decide in between (below).
DB_REUSE_MAX = 10_000


def worker() -> Celery:
    """The worker's app (``celery -A <project>.worker``): events as :meth:`ServiceEvents.worker`
    gives them, each task treated like a request by Django: connections older than
    ``CONN_MAX_AGE`` or broken are closed before and after it, others kept, and checked before
    reuse when ``CONN_HEALTH_CHECKS`` is on."""
    app = service_events().worker()
    app.conf.CELERY_DB_REUSE_MAX = DB_REUSE_MAX
    signals.task_prerun.connect(_fresh_connection, weak=False)
    signals.task_postrun.connect(_fresh_connection, weak=False)
    return app


def _fresh_connection(**_: Any) -> None:
    fresh_connection()


def _closing(query: Callable[[], int]) -> Callable[[], int]:
    """Scrapes of a worker or relay run in short-lived threads: give back their connection."""

    def run() -> int:
        try:
            return query()
        finally:
            connection.close()

    return run


def register_store_gauges() -> None:
    """The outbox backlog and the dead letters not replayed, read at each scrape."""
    from .models import DeadLetter, OutboxEvent

    register_gauges(
        settings.EVENTS_SERVICE,
        outbox_backlog=_closing(OutboxEvent.objects.filter(sent_at__isnull=True).count),
        dead_letters=_closing(DeadLetter.objects.filter(replayed_at__isnull=True).count),
    )
