"""Per-request state shared by the edge, the proxy and log records."""

from __future__ import annotations

from contextvars import ContextVar

from gateway.routing import Route
from gateway.tracing import Trace
from msh_auth import Principal

# Read by the log filter so every line logged while serving a request carries its id.
request_id_var: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)


class RequestContext:
    """What is known about a request as it is served; read by the access log and metrics."""

    __slots__ = (
        "client",
        "cors_origin",
        "extra_headers",
        "principal",
        "request_id",
        "route",
        "scheme",
        "status",
        "trace",
        "upstream",
    )

    def __init__(self, request_id: str, trace: Trace, client: str | None, scheme: str) -> None:
        self.request_id = request_id
        self.trace = trace
        self.client = client
        self.scheme = scheme
        self.route: Route | None = None
        self.upstream: str | None = None
        self.principal: Principal | None = None  # the verified caller, if any
        self.status: int | None = None
        self.cors_origin: bytes | None = None
        # Added to the response, whoever produces it (rate-limit headers, for instance).
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    @property
    def user_id(self) -> str | None:
        """The verified caller's id, for the access log."""
        return self.principal.user_id if self.principal is not None else None
