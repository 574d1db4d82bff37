"""The bearer scheme (RFC 6750) as every verifier speaks it: reading the ``Authorization``
header, the platform's one realm, and which refusal each failure is.

The gateway, catalog and orders answer the same way (mainapp's DRF stack uses the same realm):

- no ``Authorization`` header: 401 ``not_authenticated``, challenge without an error;
- a header that is not ``Bearer <token>``: 401 ``invalid_token``, ``error="invalid_request"``;
- a token that is malformed, expired, forged or revoked: 401 ``invalid_token``,
  ``error="invalid_token"``;
- the revocation list too stale to trust: 503 ``auth_unavailable`` with ``Retry-After``;
- no key could ever be fetched: 503 ``auth_unavailable``;
- a valid token without the staff role where staff is required: 403 ``permission_denied``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from msh_common.errors import AUTH_UNAVAILABLE, INVALID_TOKEN, ServiceError

from .revocation import RevocationUnavailable
from .tokens import InvalidToken, Principal

logger = logging.getLogger(__name__)

REALM = "microservicehub"
NOT_PROVIDED = "Authentication credentials were not provided."
NOT_BEARER = "Authorization must be 'Bearer <access token>'."


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of a 401: the realm, and what was wrong if anything."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
        if description:
            value += f', error_description="{description.replace(chr(34), chr(39))}"'
    return value


def refused(message: str, *, error: str | None = None) -> ServiceError:
    """A 401 with the platform's challenge (``invalid_token`` when a token was sent)."""
    code = INVALID_TOKEN if error else "not_authenticated"
    headers = {"WWW-Authenticate": challenge(error, message if error else None)}
    return ServiceError(401, message, code=code, headers=headers)


def token_of(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii():
        raise refused(NOT_BEARER, error="invalid_request")
    return token


def authenticate(
    authorization: str | None, verify: Callable[[str], Principal], *, required: bool = True
) -> Principal | None:
    """The verified caller of a request, None for an anonymous one when not ``required``;
    every failure is a :class:`ServiceError` as listed in the module docstring."""
    return verified(token_of(authorization), verify, required=required)


def verified(
    token: str | None, verify: Callable[[str], Principal], *, required: bool = True
) -> Principal | None:
    """:func:`authenticate` for a token already read from its header (:func:`token_of`)."""
    if token is None:
        if required:
            raise refused(NOT_PROVIDED)
        return None
    try:
        return verify(token)
    except InvalidToken as exc:
        raise refused(f"Invalid token: {exc}.", error=INVALID_TOKEN) from exc
    except RevocationUnavailable as exc:  # Redis unreachable too long: fail closed
        raise ServiceError(
            503,
            "Tokens cannot be checked right now; try again shortly.",
            code=AUTH_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except Exception as exc:  # no key was ever fetched and mainapp cannot be reached
        logger.warning("token verification unavailable: %r", exc)
        raise ServiceError(
            503, "Tokens cannot be verified right now; try again shortly.", code=AUTH_UNAVAILABLE
        ) from exc


def require_staff(principal: Principal) -> Principal:
    """``principal`` if it has the staff role, else 403 ``permission_denied``."""
    if not principal.is_staff:
        raise ServiceError(403, "Only staff may do this.", code="permission_denied")
    return principal
