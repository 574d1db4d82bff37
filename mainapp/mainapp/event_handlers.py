"""The events mainapp consumes, mapped to their handlers (settings.EVENTS_HANDLERS)."""

from __future__ import annotations

from mainapp.accounts.events import send_order_confirmation_email, send_welcome_email
from mainapp.realtime.notify import notify_order_status
from msh_events import Event


def order_confirmed(event: Event) -> None:
    """The confirmation e-mail (the record), then the customer's open sockets (best effort)."""
    send_order_confirmation_email(event)
    notify_order_status(event, "confirmed")


HANDLERS = {
    "user.registered": send_welcome_email,
    "order.confirmed": order_confirmed,
    "order.rejected": lambda event: notify_order_status(event, "rejected"),
    "order.cancelled": lambda event: notify_order_status(event, "cancelled"),
}
