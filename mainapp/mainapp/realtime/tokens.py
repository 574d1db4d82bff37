"""Verifying a socket's access token exactly as the REST API does (mainapp.accounts)."""

from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.exceptions import TokenError

from mainapp.accounts.revocations import revocation_list
from mainapp.accounts.tokens import AccessToken
from msh_auth import InvalidToken as Revoked
from msh_auth import RevocationList


class Refused(Exception):
    """Not a valid, unexpired, unrevoked access token of this platform."""


def revocations() -> RevocationList:
    return revocation_list()


def verify(raw: str) -> dict[str, Any]:
    """The claims of a valid access token; raises :class:`Refused`, or
    :class:`msh_auth.RevocationUnavailable` when revocations cannot be checked."""
    if not raw or len(raw) > 4096:
        raise Refused("no token")
    try:
        claims = dict(AccessToken(raw).payload)  # type: ignore[arg-type]  # str is accepted
    except TokenError as exc:
        raise Refused(str(exc)) from None
    try:
        revocations().check(claims)
    except Revoked as exc:
        raise Refused(str(exc)) from None
    return claims
