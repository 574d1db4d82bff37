"""Celery tasks of accounts, run by mainapp's worker (``mainapp.worker`` includes this module).

E-mail goes through the worker so an SMTP server never slows down or fails a request.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task
from django.db import transaction

from .emails import email_changed_message, password_reset_message
from .models import User

logger = logging.getLogger(__name__)

SEND_PASSWORD_RESET_EMAIL = "accounts.send_password_reset_email"  # noqa: S105 - a task name
SEND_EMAIL_CHANGED_NOTICE = "accounts.send_email_changed_notice"
# Fail fast when the broker is down: the request answers anyway and the user can ask again.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# Sending: an SMTP server down or refusing is retried with back-off, five times at most.
MAIL_RETRIES: dict[str, Any] = {
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(name=SEND_PASSWORD_RESET_EMAIL, **MAIL_RETRIES)
def send_password_reset_email(user_id: str) -> str:
    """Mail a reset link to an active user.

    The token is made here, not by the web request, so it never sits in the broker; it is valid
    from now for PASSWORD_RESET_TIMEOUT. A user deleted or deactivated meanwhile gets nothing.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        logger.info("password reset skipped: no active user", extra={"user_id": user_id})
        return "skipped"
    password_reset_message(user).send()
    return "sent"


@shared_task(name=SEND_EMAIL_CHANGED_NOTICE, **MAIL_RETRIES)
def send_email_changed_notice(old_email: str, masked_new: str, name: str) -> str:
    """Tell the previous address that the account's e-mail changed (the new one masked)."""
    email_changed_message(old_email, masked_new, name).send()
    return "sent"


def queue_email_changed_notice(old_email: str, masked_new: str, name: str) -> None:
    """Enqueue the notice once the change commits; a broker failure is logged, not raised."""

    def enqueue_email_changed_notice() -> None:
        _enqueue(SEND_EMAIL_CHANGED_NOTICE, old_email, masked_new, name)

    transaction.on_commit(enqueue_email_changed_notice, robust=True)


def _enqueue(task_name: str, *args: str) -> None:
    from mainapp.worker import app  # the worker module configures Celery for this service

    app.send_task(task_name, args=list(args), retry=True, retry_policy=ENQUEUE_RETRY_POLICY)


def queue_password_reset_email(user: User) -> None:
    """Enqueue the reset e-mail once the current transaction commits (at once in autocommit).

    A broker failure is logged, not raised: the caller's answer must not depend on it.
    """
    user_id = str(user.pk)

    def enqueue_password_reset_email() -> None:
        _enqueue(SEND_PASSWORD_RESET_EMAIL, user_id)

    transaction.on_commit(enqueue_password_reset_email, robust=True)
