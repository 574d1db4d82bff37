"""Verifying an access token against a set of public keys.

Access tokens are RFC 9068 JWTs: ``typ: at+jwt`` in the header. Refresh tokens carry
``typ: rt+jwt``, so one can never pass for the other whatever its claims say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "jti", "iss", "aud")
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT header type (RFC 9068), not a secret
REFRESH_TOKEN_TYPE = "rt+jwt"  # noqa: S105 - the platform's own: never an access token's


class InvalidToken(Exception):
    """The token is refused; ``str(exc)`` says why, in words safe to show the client."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token speaks for."""

    user_id: str
    roles: tuple[str, ...]
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles


def token_kid(token: str) -> str:
    """The ``kid`` of an access token's header, once its ``alg`` (RS256) and ``typ``
    (``at+jwt``) are the only ones allowed; nothing else in the header is trusted."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token has no key id")
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("token algorithm not allowed")
    if not is_access_token_type(header.get("typ")):
        raise InvalidToken("not an access token")
    return kid


def is_access_token_type(typ: object) -> bool:
    """``at+jwt``, or its media type ``application/at+jwt`` (RFC 9068 section 4)."""
    if not isinstance(typ, str):
        return False
    return typ.lower().removeprefix("application/") == ACCESS_TOKEN_TYPE


def verify_access_token(
    token: str,
    keys: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    leeway: float = 0,
) -> Principal:
    """Verify ``token`` with the key its ``kid`` names in ``keys`` (kid -> public key).

    Raises :class:`InvalidToken` for anything but a valid, unexpired RS256 access token from
    ``issuer`` for ``audience``.
    """
    kid = token_kid(token)
    key = keys.get(kid)
    if key is None:
        raise InvalidToken("token signed by an unknown key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token invalid") from exc
    if claims.get("token_type", "access") != "access":
        raise InvalidToken("not an access token")
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken("token roles malformed")
    return Principal(
        user_id=str(claims["sub"]),
        roles=tuple(roles),
        claims=claims,
    )
