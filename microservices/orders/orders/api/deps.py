"""Request dependencies: the process's database, catalog and settings; the caller, from the
bearer token this service verifies itself."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from msh_auth import InvalidToken, JWKSCache, Principal, RevocationUnavailable
from msh_common.errors import AUTH_UNAVAILABLE, INVALID_TOKEN
from orders.catalog import QuoteSource
from orders.settings import Settings
from orders.store.db import Database
from orders.store.live import StatusListener

from .errors import ApiError

logger = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login.")


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller: who, with which token (forwarded to the catalog)."""

    principal: Principal
    user_id: uuid.UUID
    token: str

    @property
    def is_staff(self) -> bool:
        return self.principal.is_staff

    @property
    def owner_filter(self) -> uuid.UUID | None:
        """Whose orders the caller may see: None (every one) for staff, else their own."""
        return None if self.is_staff else self.user_id

    @property
    def email(self) -> str | None:
        return self.principal.email or None


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_catalog(request: Request) -> QuoteSource:
    return request.app.state.catalog


def get_listener(request: Request) -> StatusListener:
    return request.app.state.listener


def _unauthenticated(message: str, code: str = "not_authenticated") -> ApiError:
    return ApiError(401, message, code=code, headers={"WWW-Authenticate": "Bearer"})


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The verified caller; 401 without a valid, unrevoked access token, 503 if no key can be
    fetched or the revocation list is too stale to trust."""
    if credentials is None:
        raise _unauthenticated("Authentication credentials were not provided.")
    jwks: JWKSCache = request.app.state.jwks
    try:
        principal = jwks.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthenticated(f"Invalid token: {exc}.", INVALID_TOKEN) from exc
    except RevocationUnavailable as exc:  # Redis unreachable too long: fail closed
        raise ApiError(
            503,
            "Tokens cannot be checked right now; try again shortly.",
            code=AUTH_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except Exception as exc:
        logger.warning("JWKS unavailable: %r", exc)
        raise ApiError(
            503,
            "Tokens cannot be verified right now; try again shortly.",
            code="auth_unavailable",
        ) from exc
    try:
        user_id = uuid.UUID(principal.user_id)
    except ValueError as exc:
        raise _unauthenticated(
            "Invalid token: the subject is not a user id.", INVALID_TOKEN
        ) from exc
    return Caller(principal=principal, user_id=user_id, token=credentials.credentials)


def get_staff(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if not caller.is_staff:
        raise ApiError(403, "Only staff may do this.", code="permission_denied")
    return caller


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
CatalogDep = Annotated[QuoteSource, Depends(get_catalog)]
ListenerDep = Annotated[StatusListener, Depends(get_listener)]
CallerDep = Annotated[Caller, Depends(get_caller)]
StaffDep = Annotated[Caller, Depends(get_staff)]
