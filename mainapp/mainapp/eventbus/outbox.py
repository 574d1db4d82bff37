"""How mainapp code publishes an event: ``publish("user.registered", {...})``."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.db import transaction

from msh_events import Event, OutboxRelay
from msh_events.publisher import CeleryPublisher
from msh_events.relay import BackgroundRelay

from .models import OutboxEvent
from .stores import DjangoOutboxStore

PRODUCER = "mainapp"
logger = logging.getLogger(__name__)


def publish(event_type: str, data: dict[str, Any], traceparent: str | None = None) -> Event:
    """Write an event into the outbox inside the caller's transaction.

    It is relayed to the broker right after the transaction commits, by a background thread;
    if that fails (broker down), the relay process's periodic sweep sends it later. Must be
    called inside ``atomic()`` when the state change and the event must commit together (an
    implicit autocommit is its own one).
    """
    event = Event(type=event_type, data=data, producer=PRODUCER, traceparent=traceparent)
    OutboxEvent.objects.create(id=event.id, type=event.type, envelope=event.to_dict())
    transaction.on_commit(background_relay().kick)
    return event


def relay() -> OutboxRelay:
    from mainapp.worker import app  # the worker module configures Celery for this service

    return OutboxRelay(DjangoOutboxStore(), CeleryPublisher(app))


@cache
def background_relay() -> BackgroundRelay:
    """This process's after-commit relay (made on first use: after gunicorn forked), in its
    own thread, so a request never waits for the broker."""
    return BackgroundRelay(relay())
