"""Handlers for the events accounts consumes (wired in ``mainapp.event_handlers``)."""

from __future__ import annotations

import logging

from msh_events import Event

from .emails import order_confirmation_message, welcome_message
from .models import User

logger = logging.getLogger(__name__)


def send_welcome_email(event: Event) -> None:
    """``user.registered``: send the welcome e-mail to ``event.data["email"]``.

    Runs inside the idempotent consumer's transaction, so a redelivered event sends nothing more
    once this returned. A user who deleted the account before the worker got here is not mailed.
    A failure to send raises, and the event task retries it.
    """
    user_id = event.data.get("user_id")
    if user_id and not User.objects.filter(pk=user_id).exists():
        logger.info("welcome e-mail skipped: user deleted", extra={"user_id": user_id})
        return
    welcome_message(event.data["email"], event.data.get("name") or "").send()


def send_order_confirmation_email(event: Event) -> None:
    """``order.confirmed`` (from orders): e-mail the customer their confirmed order.

    The event names the customer by ``user_id`` only; the address is looked up here, where
    identity lives. An order whose customer deleted the account (``user_id`` null once orders
    anonymised it, or no such user any more) is not mailed. Idempotent like the welcome e-mail.
    """
    user_id = event.data.get("user_id")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        logger.info(
            "order confirmation skipped: no active user",
            extra={"order_id": event.data.get("order_id"), "user_id": user_id},
        )
        return
    order_confirmation_message(user, event.data).send()
