"""Per-request state shared by the middleware, the proxy and log records."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import Scope

# Read by the log filter so every line logged while serving a request carries its id.
request_id_var: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)

_SCOPE_KEY = "gateway.context"


@dataclass(slots=True)
class RequestContext:
    """What the access log needs to know about a request, filled in as it is served."""

    request_id: str
    upstream: str | None = None
    status: int | None = None


def set_context(scope: Scope, context: RequestContext) -> None:
    scope[_SCOPE_KEY] = context


def get_context(scope: Scope) -> RequestContext | None:
    return scope.get(_SCOPE_KEY)
