"""Handlers for the events accounts consumes (wired in ``mainapp.event_handlers``)."""

from __future__ import annotations

import functools
import logging
import uuid

from django.db import connection

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
    recipient = active_recipient(uuid.UUID(str(user_id))) if user_id else None
    if recipient is None:
        logger.info(
            "order confirmation skipped: no active user",
            extra={"order_id": event.data.get("order_id"), "user_id": user_id},
        )
        return
    email, name = recipient
    order_confirmation_message(email, name, event.data).send()


def active_recipient(user_id: uuid.UUID) -> tuple[str, str] | None:
    """The e-mail address and name of the active user ``user_id``, or None.

    One statement of SQL, once per confirmed order: the ORM's query took 0.6 ms of CPU to build
    and run against 0.09 ms (a micro-benchmark), ~10% of mainapp's worker per order.
    """
    with connection.cursor() as cursor:
        cursor.execute(_active_recipient_sql(), [user_id])
        row = cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


@functools.cache
def _active_recipient_sql() -> str:
    meta = User._meta
    quote = connection.ops.quote_name
    email, name, active = (quote(meta.get_field(f).column) for f in ("email", "name", "is_active"))
    # Only the model's own table and column names are formatted in; the id is a parameter.
    return (
        f"SELECT {email}, {name} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {quote(meta.pk.column)} = %s AND {active}"
    )
