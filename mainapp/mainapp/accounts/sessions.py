"""Refresh tokens as login sessions: issue, rotate, revoke one, revoke all of a user's.

Every refresh token issued has an OutstandingToken row; a blacklisted row is a dead session.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from .models import User
from .tokens import RefreshToken


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str


def issue(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _decode(raw: str) -> RefreshToken:
    """Verify signature, expiry, type and blacklist; any failure is a 401."""
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc


def _active_user(token: RefreshToken) -> User:
    try:
        user = User.objects.filter(pk=token[api_settings.USER_ID_CLAIM], is_active=True).first()
    except (KeyError, ValueError, ValidationError):
        user = None
    if user is None:
        raise InvalidToken("No active account found for the given token.", "no_active_account")
    return user


def rotate(raw: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old token can never be used again.

    The token's row is locked first, so two concurrent refreshes of one token cannot both
    succeed: the second waits, then finds it blacklisted.
    """
    token = _decode(raw)
    with transaction.atomic():
        row = (
            OutstandingToken.objects.select_for_update()
            .filter(jti=token[api_settings.JTI_CLAIM])
            .first()
        )
        if row is None or BlacklistedToken.objects.filter(token=row).exists():
            raise InvalidToken("Token is blacklisted", "token_not_valid")
        user = _active_user(token)
        BlacklistedToken.objects.create(token=row)
        token.renew(user)
        return TokenPair(access=str(token.access_token), refresh=str(token))


def revoke(raw: str) -> None:
    """Log out one session (an unknown, expired or already revoked token is a 401)."""
    token = _decode(raw)
    row = OutstandingToken.objects.filter(jti=token[api_settings.JTI_CLAIM]).first()
    if row is None:
        raise InvalidToken("Token is invalid", "token_not_valid")
    BlacklistedToken.objects.get_or_create(token=row)


def revoke_all(user: User) -> int:
    """End every live session of ``user`` (password reset or change, account deletion)."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    rows = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(rows)
