"""simplejwt's tokens, signed and verified by the keyring (RS256 only, ``kid`` in the header).

An access token carries ``sub`` (the user's UUID), ``email``, ``roles``, ``iss``, ``aud``,
``iat``, ``exp``, ``jti``, ``sid`` (the login session, see :class:`~.models.Session`) and
``token_type``: other services authorise from it alone. Refresh tokens carry the same identity
claims and ``sid`` through every rotation, and are tracked in the token_blacklist tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from msh_auth.tokens import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE

from .keys import ALGORITHM, Keyring, keyring

if TYPE_CHECKING:
    from .models import User

REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub"]
SID_CLAIM = "sid"  # the session (refresh family); copied into every access token


class KeyringTokenBackend(TokenBackend):
    """Signs with the keyring's active key; verifies with the key the token's ``kid`` names.

    ``algorithms`` is fixed to RS256 and the key is chosen by kid, never by the token's ``alg``:
    ``alg: none`` and HS256 tokens "signed" with a public key are refused.
    """

    def __init__(self, ring: Keyring) -> None:
        super().__init__(
            ALGORITHM,
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=api_settings.LEEWAY,
            json_encoder=api_settings.JSON_ENCODER,
        )
        self.ring = ring

    def encode(self, payload: dict[str, Any]) -> str:
        key = self.ring.active()
        claims = {**payload, "iss": self.issuer, "aud": self.audience}
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": header_type(payload)},
            json_encoder=self.json_encoder,
        )

    def decode(  # type: ignore[override]  # the stubs say Token; simplejwt passes the encoded one
        self, token: str | bytes, verify: bool = True
    ) -> dict[str, Any]:
        try:
            if not verify:
                return jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            key = self.ring.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise TokenBackendError("Token is invalid")
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"require": REQUIRED_CLAIMS},
            )
            if header.get("typ") != header_type(claims):
                raise TokenBackendError("Token has wrong type")
            return claims
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc


def header_type(payload: dict[str, Any]) -> str:
    """``typ`` of the token whose claims are ``payload``: an access token's is RFC 9068's
    ``at+jwt``, a refresh token's ``rt+jwt``; a token whose header and ``token_type`` claim
    disagree is refused by :meth:`KeyringTokenBackend.decode`."""
    is_access = payload.get(api_settings.TOKEN_TYPE_CLAIM) == "access"
    return ACCESS_TOKEN_TYPE if is_access else REFRESH_TOKEN_TYPE


class KeyringTokenMixin:
    @property
    def token_backend(self) -> KeyringTokenBackend:
        return KeyringTokenBackend(keyring())


class AccessToken(KeyringTokenMixin, tokens.AccessToken):
    pass


class RefreshToken(KeyringTokenMixin, tokens.RefreshToken):
    """A refresh token recorded as outstanding, so it can be rotated out and revoked."""

    access_token_class = AccessToken

    @classmethod
    def for_user(cls, user: User, sid: str) -> RefreshToken:  # type: ignore[override]  # + sid
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(user.pk)
        token[SID_CLAIM] = sid
        token.set_user_claims(user)
        token.record(user)
        return token

    def set_user_claims(self, user: User) -> None:
        """The identity claims, read from the user at issue and again at every refresh (no
        e-mail address: no service needs it, and tokens travel through logs and browsers)."""
        self["roles"] = user.roles

    def renew(self, user: User, sid: str) -> None:
        """Turn this (already blacklisted) token into its successor with current claims, in
        the same session."""
        self[SID_CLAIM] = sid
        self.set_jti()
        self.set_exp()
        self.set_iat()
        self.set_user_claims(user)
        self.record(user)

    def record(self, user: User) -> OutstandingToken:
        return OutstandingToken.objects.create(
            user=user,
            jti=self[api_settings.JTI_CLAIM],
            token=str(self),
            created_at=self.current_time,
            expires_at=datetime_from_epoch(self["exp"]),
        )

    @property
    def access_token(self) -> AccessToken:
        access = super().access_token
        # iat from the same instant as exp, so exp - iat is exactly the access lifetime.
        access.set_iat(at_time=self.current_time)
        return access  # type: ignore[return-value]  # access_token_class is ours


class UncheckedRefreshToken(RefreshToken):
    """Signature, expiry and type verified, but not the blacklist: rotation looks at the
    blacklist itself, to tell a reused (stolen) token from an unknown one."""

    def check_blacklist(self) -> None:
        return None
