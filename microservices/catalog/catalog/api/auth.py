"""Who is calling: the bearer JWT, verified here with mainapp's public keys.

The gateway checks tokens too, but only as a first line (docs/architecture.md): the catalog never
trusts a request for being inside the network.
"""

from __future__ import annotations

from flask import g, request

from msh_auth import Principal, authenticate
from msh_auth import require_staff as staff_only

from .context import context

SECURITY: list[dict[str, list[str]]] = [
    {"bearerAuth": []}
]  # for the OpenAPI document of protected operations
# Open to anyone; a token adds what only staff may ask for (inactive products).
OPTIONAL_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]


def current_principal(*, required: bool = True) -> Principal | None:
    """The caller, or None for an anonymous request when ``required`` is False."""
    if "principal" in g:
        return g.principal
    principal = authenticate(
        request.headers.get("Authorization"), context().jwks.verify, required=required
    )
    if principal is not None:
        g.principal = principal
    return principal


def require_user() -> Principal:
    principal = current_principal(required=True)
    assert principal is not None
    return principal


def require_staff() -> Principal:
    return staff_only(require_user())
