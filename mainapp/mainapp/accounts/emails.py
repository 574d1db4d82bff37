"""The messages accounts sends, built from templates (plain text plus an HTML alternative)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import User
from .password_reset import make_token, reset_link

WELCOME_SUBJECT = "Welcome to MicroServiceHub"
PASSWORD_RESET_SUBJECT = "Reset your MicroServiceHub password"  # noqa: S105 - a subject
ORDER_CONFIRMED_SUBJECT = "Your MicroServiceHub order is confirmed"
EMAIL_CHANGED_SUBJECT = "Your MicroServiceHub e-mail address was changed"


def _message(
    subject: str, template: str, to: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    context = {"public_url": settings.PUBLIC_URL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"accounts/email/{template}.txt", context),
        to=[to],
    )
    html = render_to_string(f"accounts/email/{template}.html", context)
    message.attach_alternative(html, "text/html")
    return message


def welcome_message(email: str, name: str = "") -> EmailMultiAlternatives:
    return _message(WELCOME_SUBJECT, "welcome", email, {"email": email, "name": name})


def email_changed_message(old_email: str, masked_new: str, name: str) -> EmailMultiAlternatives:
    """To the OLD address: the change is announced where the owner still reads mail."""
    return _message(
        EMAIL_CHANGED_SUBJECT,
        "email_changed",
        old_email,
        {"name": name, "new_email": masked_new},
    )


def password_reset_message(user: User) -> EmailMultiAlternatives:
    """A fresh reset link for ``user``, made when the message is built (in the worker)."""
    return _message(
        PASSWORD_RESET_SUBJECT,
        "password_reset",
        user.email,
        {
            "user": user,
            "link": reset_link(make_token(user)),
            "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )


def order_confirmation_message(
    email: str, name: str, order: dict[str, Any]
) -> EmailMultiAlternatives:
    """The ``order.confirmed`` data as an e-mail to ``email``: lines, prices as the order
    snapshot says."""
    order_id = str(order["order_id"])
    return _message(
        ORDER_CONFIRMED_SUBJECT,
        "order_confirmed",
        email,
        {
            "name": name,
            "order_id": order_id,
            "short_id": order_id[:8],
            "lines": order.get("lines") or [],
            "total": order.get("total", ""),
            "currency": order.get("currency", ""),
        },
    )
