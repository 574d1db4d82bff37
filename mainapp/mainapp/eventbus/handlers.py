"""The events mainapp consumes, mapped to their handlers."""

from __future__ import annotations

from mainapp.accounts.events import send_order_confirmation_email, send_welcome_email
from msh_events.consumer import IdempotentConsumer

from .stores import DjangoProcessedEventStore

HANDLERS = {
    "user.registered": send_welcome_email,
    "order.confirmed": send_order_confirmation_email,
}


def consumer() -> IdempotentConsumer:
    return IdempotentConsumer(DjangoProcessedEventStore(), HANDLERS)
