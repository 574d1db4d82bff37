"""Who is calling: the bearer JWT, verified here with mainapp's public keys.

The gateway checks tokens too, but only as a first line (ARCHITECTURE.md): the catalog never
trusts a request for being inside the network.
"""

from __future__ import annotations

import logging

from flask import g, request

from msh_auth import InvalidToken, Principal, RevocationUnavailable
from msh_common.errors import AUTH_UNAVAILABLE, INVALID_TOKEN

from .context import context
from .errors import ApiError

logger = logging.getLogger(__name__)

BEARER = {"WWW-Authenticate": 'Bearer realm="catalog"'}
SECURITY = [{"bearerAuth": []}]  # for the OpenAPI document of protected operations


def current_principal(*, required: bool = True) -> Principal | None:
    """The caller, or None for an anonymous request when ``required`` is False."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise ApiError(401, "Authentication credentials were not provided.", headers=BEARER)
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Use an 'Authorization: Bearer <access token>' header.", headers=BEARER)
    try:
        principal = context().jwks.verify(token)
    except InvalidToken as exc:
        raise ApiError(401, str(exc), code=INVALID_TOKEN, headers=BEARER) from exc
    except RevocationUnavailable as exc:  # Redis unreachable too long: fail closed
        raise ApiError(
            503,
            "Cannot check tokens right now; try again shortly.",
            code=AUTH_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except Exception as exc:
        # No key was ever fetched and mainapp cannot be reached: we cannot tell.
        logger.warning("token verification unavailable: %s", exc)
        raise ApiError(503, "Cannot verify tokens right now; try again shortly.") from exc
    g.principal = principal
    return principal


def require_user() -> Principal:
    principal = current_principal(required=True)
    assert principal is not None
    return principal


def require_staff() -> Principal:
    principal = require_user()
    if not principal.is_staff:
        raise ApiError(403, "Only staff may do this.")
    return principal
