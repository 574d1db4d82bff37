"""Password-reset tokens: ``<base64 user id>.<Django token>``.

Django's token generator makes them time-limited (PASSWORD_RESET_TIMEOUT) and single-use: the
token hashes the password and last login, so setting a new password invalidates it. Nothing is
stored; the token is recomputed and compared.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import User


def make_token(user: User) -> str:
    return (
        f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"
    )


def user_for_token(token: str, *, for_update: bool = False) -> User | None:
    """The active user ``token`` is currently valid for, or None.

    ``for_update`` locks the user's row (inside ``atomic()``), so two requests racing with one
    token are serialised and the second finds it already used.
    """
    uid, _, secret = token.partition(".")
    users = User.objects.select_for_update() if for_update else User.objects.all()
    try:
        user = users.filter(pk=force_str(urlsafe_base64_decode(uid)), is_active=True).first()
    except (ValueError, TypeError, OverflowError, ValidationError):
        return None
    if user is None or not default_token_generator.check_token(user, secret):
        return None
    return user


def reset_link(token: str) -> str:
    """The front-end page that posts the token and a new password to ``.../confirm``."""
    return f"{settings.PUBLIC_URL}/reset-password?token={token}"
