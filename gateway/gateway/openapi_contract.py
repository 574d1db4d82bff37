"""What the merged OpenAPI document promises a generated client, whatever each service's
framework writes (drf-spectacular, FastAPI, flask-openapi3):

- one bearer security scheme, ``bearerAuth``: every service's own name for the same bearer
  token (``jwtAuth``, ``HTTPBearer``...) becomes it;
- anonymous operations declare ``security: []`` (a lone ``{}`` requirement reads to generated
  clients as "a token of no scheme", so they demand one for login; an operation that says
  nothing is anonymous too: the merged document has no top-level requirement);
- every schema component's ``title`` is its name, so a component renamed in the merge
  (``orders_ProductOut``) cannot collide by title with another (generators name classes by
  title and silently drop duplicates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BEARER = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token (RFC 9068 JWT, `typ: at+jwt`) from `POST /api/auth/login` "
    "or `POST /api/auth/refresh`, as `Authorization: Bearer <token>`.",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a merged one, modified in place) with the promises above kept."""
    components = document.setdefault("components", {})
    schemes = components.get("securitySchemes") or {}
    bearer_names = {name for name, scheme in schemes.items() if _is_bearer(scheme)}
    components["securitySchemes"] = {
        **{name: scheme for name, scheme in schemes.items() if name not in bearer_names},
        BEARER: BEARER_SCHEME,
    }
    # New dicts, never the services' own: their cached documents stay as they sent them.
    for item in (document.get("paths") or {}).values():
        for method, operation in list(item.items()):
            if method in _METHODS and isinstance(operation, dict):
                security = _requirements(operation.get("security", []), bearer_names)
                item[method] = {**operation, "security": security}
    components["schemas"] = {
        name: {**schema, "title": name} if isinstance(schema, dict) else schema
        for name, schema in (components.get("schemas") or {}).items()
    }
    return document


def _is_bearer(scheme: Any) -> bool:
    return (
        isinstance(scheme, Mapping)
        and str(scheme.get("type", "")).lower() == "http"
        and str(scheme.get("scheme", "")).lower() == "bearer"
    )


def _requirements(security: Any, bearer_names: set[str]) -> list[dict[str, Any]]:
    """The requirements with bearer names made ``bearerAuth``; ``[]`` when anonymous only."""
    if not isinstance(security, list):
        return []
    renamed: list[dict[str, Any]] = []
    for requirement in security:
        if not isinstance(requirement, Mapping):
            continue
        entry = {
            BEARER if name in bearer_names else name: scopes for name, scopes in requirement.items()
        }
        if entry not in renamed:
            renamed.append(entry)
    return [] if all(not entry for entry in renamed) else renamed
