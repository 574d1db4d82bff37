"""Handlers for the events accounts consumes (wired in ``mainapp.eventbus.handlers``)."""

from __future__ import annotations

import logging

from msh_events import Event

from .emails import welcome_message
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
