"""simplejwt's bearer authentication, plus the platform's revocation list (msh_auth)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from msh_auth import REALM, RevocationUnavailable
from msh_auth import InvalidToken as Revoked
from msh_common.errors import AUTH_UNAVAILABLE

from .revocations import revocation_list


class AuthUnavailable(APIException):
    """The revocation list is too stale to trust: refuse rather than accept a revoked token."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = AUTH_UNAVAILABLE
    default_detail = "Authentication is temporarily unavailable; try again shortly."
    retry_after = RevocationUnavailable.retry_after


class RevocationAwareJWTAuthentication(JWTAuthentication):
    """A token of a logged-out session or of a deleted, deactivated or re-passworded account is
    refused here as at every other verifier; the challenge names the platform's one realm."""

    www_authenticate_realm = REALM

    def get_validated_token(self, raw_token: bytes) -> Any:
        token = super().get_validated_token(raw_token)
        try:
            revocation_list().check(token.payload)
        except Revoked as exc:
            raise InvalidToken({"detail": "Token is revoked", "code": "token_not_valid"}) from exc
        except RevocationUnavailable as exc:
            raise AuthUnavailable() from exc
        return token


class RevocationAwareJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: the same ``jwtAuth`` bearer scheme as simplejwt's."""

    target_class = "mainapp.accounts.authentication.RevocationAwareJWTAuthentication"
