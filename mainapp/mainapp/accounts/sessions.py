"""Refresh tokens as login sessions: issue, rotate, revoke one, revoke all of a user's.

Every login is a :class:`~.models.Session` (the tokens' ``sid``); every refresh token issued
has an OutstandingToken row, blacklisted once rotated out or logged out. Presenting a
blacklisted refresh token again is treated as theft (OAuth 2.0 Security BCP): its whole session
is revoked, successor included. Revoking a session also records it in the revocation stream
(:mod:`.revocations`), inside the transaction, so access tokens stop at every verifier too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from . import revocations
from .models import Session, User
from .tokens import SID_CLAIM, RefreshToken, UncheckedRefreshToken

REUSED = "Token is blacklisted"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str


def issue(user: User) -> TokenPair:
    """Log in: a new session and its first pair."""
    session = Session.objects.create(user=user)
    refresh = RefreshToken.for_user(user, str(session.sid))
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _decode(raw: str, token_class: type[RefreshToken] = RefreshToken) -> RefreshToken:
    """Verify signature, expiry, type (and blacklist, unless told not to); failure is a 401."""
    try:
        return token_class(raw)  # type: ignore[arg-type]  # the stubs say Token; it takes the text
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc


def _session_of(token: RefreshToken, user: User) -> Session:
    """The token's session, locked; a token from before sessions existed starts one."""
    sid = token.payload.get(SID_CLAIM)
    if not isinstance(sid, str):
        return Session.objects.create(user=user)
    try:
        session = Session.objects.select_for_update().filter(sid=sid, user=user).first()
    except ValidationError:
        session = None
    if session is None:
        raise InvalidToken("Token is invalid", "token_not_valid")
    return session


def revoke_session(sid: object) -> None:
    """Revoke one session here and at every verifier (inside the caller's transaction)."""
    revocations.revoke_sessions([sid])
    Session.objects.filter(sid=sid, revoked_at__isnull=True).update(revoked_at=timezone.now())


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
    succeed: the second waits, then finds it blacklisted. A blacklisted token presented again
    revokes its whole session (committed before the 401 is raised).
    """
    token = _decode(raw, UncheckedRefreshToken)
    with transaction.atomic():
        pair = _rotate_locked(token)
    if pair is None:
        raise InvalidToken(REUSED, "token_not_valid")
    return pair


def _rotate_locked(token: RefreshToken) -> TokenPair | None:
    """The rotation itself, in a transaction; None when the token was reused (the session is
    then revoked)."""
    row = (
        OutstandingToken.objects.select_for_update()
        .filter(jti=token[api_settings.JTI_CLAIM])
        .first()
    )
    if row is None:
        raise InvalidToken(REUSED, "token_not_valid")
    if BlacklistedToken.objects.filter(token=row).exists():
        sid = token.payload.get(SID_CLAIM)
        if isinstance(sid, str):
            revoke_session(sid)
        return None
    user = _active_user(token)
    session = _session_of(token, user)
    if session.revoked_at is not None:
        raise InvalidToken("Session is revoked", "token_not_valid")
    BlacklistedToken.objects.create(token=row)
    token.renew(user, str(session.sid))
    return TokenPair(access=str(token.access_token), refresh=str(token))


def revoke(raw: str) -> None:
    """Log out one session (an unknown, expired or already revoked token is a 401): its
    refresh token and every access token of the session stop."""
    token = _decode(raw)
    row = OutstandingToken.objects.filter(jti=token[api_settings.JTI_CLAIM]).first()
    if row is None:
        raise InvalidToken("Token is invalid", "token_not_valid")
    with transaction.atomic():
        sid = token.payload.get(SID_CLAIM)
        if isinstance(sid, str):
            revoke_session(sid)
        BlacklistedToken.objects.get_or_create(token=row)


def revoke_all(user: User, *, keep_sid: str | None = None) -> int:
    """End every live session of ``user`` but ``keep_sid`` (password reset or change, e-mail
    change, account deletion): by session, so a login right afterwards works. Call inside a
    transaction."""
    live_sessions = Session.objects.filter(user=user, revoked_at__isnull=True)
    if keep_sid is not None:
        live_sessions = live_sessions.exclude(sid=keep_sid)
    sids = list(live_sessions.values_list("sid", flat=True))
    revocations.revoke_sessions(sids)
    Session.objects.filter(sid__in=sids).update(revoked_at=timezone.now())
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    if keep_sid is not None:
        kept = [row for row in live if _sid_of_raw(row.token) == keep_sid]
        live = live.exclude(pk__in=[row.pk for row in kept])
    rows = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(rows)


def _sid_of_raw(raw: str) -> str | None:
    """The ``sid`` of a token we issued ourselves (read from our own table, not verified)."""
    try:
        sid = RefreshToken(raw, verify=False).payload.get(SID_CLAIM)  # type: ignore[arg-type]
    except TokenError:
        return None
    return sid if isinstance(sid, str) else None
