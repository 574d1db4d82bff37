"""How Django code publishes an event: ``publish("user.registered", {...})``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from msh_events import Event

from .models import OutboxEvent
from .service import service_events


def publish(event_type: str, data: dict[str, Any], traceparent: str | None = None) -> Event:
    """Write an event into the outbox inside the caller's transaction.

    It is relayed to the broker right after the transaction commits, by a background thread;
    if that fails (broker down), the relay process's periodic sweep sends it later. Must be
    called inside ``atomic()`` when the state change and the event must commit together (an
    implicit autocommit is its own one).
    """
    event = Event(
        type=event_type, data=data, producer=settings.EVENTS_SERVICE, traceparent=traceparent
    )
    OutboxEvent.objects.create(id=event.id, type=event.type, envelope=event.to_dict())
    transaction.on_commit(lambda: service_events().after_commit([event]))
    return event
