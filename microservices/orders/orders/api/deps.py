"""Request dependencies: the process's database, catalog and settings; the caller, from the
bearer token this service verifies itself."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from msh_auth import JWKSCache, Principal, require_staff, token_of
from msh_auth.bearer import refused, verified
from msh_common.errors import INVALID_TOKEN
from orders.catalog import QuoteSource
from orders.settings import Settings
from orders.store.db import Database
from orders.store.live import StatusListener

logger = logging.getLogger(__name__)

# Only documents the scheme in OpenAPI; the header is read by msh_auth.authenticate.
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


# The process's objects, read from the app's state: ``async`` because they never block, so
# FastAPI calls them on the event loop instead of a trip through the threadpool each (py-spy on
# make bench-orders: anyio's threadpool hops took as much of this process's CPU as SQLAlchemy).


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_catalog(request: Request) -> QuoteSource:
    return request.app.state.catalog


async def get_listener(request: Request) -> StatusListener:
    return request.app.state.listener


def get_caller(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The verified caller; 401 without a valid, unrevoked access token, 503 if no key can be
    fetched or the revocation list is too stale to trust (``msh_auth.authenticate``)."""
    jwks: JWKSCache = request.app.state.jwks
    token = token_of(request.headers.get("Authorization"))
    principal = verified(token, jwks.verify)
    assert principal is not None and token is not None
    try:
        user_id = uuid.UUID(principal.user_id)
    except ValueError as exc:
        raise refused("Invalid token: the subject is not a user id.", error=INVALID_TOKEN) from exc
    return Caller(principal=principal, user_id=user_id, token=token)


def get_staff(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    require_staff(caller.principal)
    return caller


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
CatalogDep = Annotated[QuoteSource, Depends(get_catalog)]
ListenerDep = Annotated[StatusListener, Depends(get_listener)]
CallerDep = Annotated[Caller, Depends(get_caller)]
StaffDep = Annotated[Caller, Depends(get_staff)]
