"""``GET /metrics``: Prometheus exposition, for clients in ``METRICS_ALLOWED_NETWORKS`` only.

Metrics describe the platform's traffic and failures; the public must not read them. Other
clients get the same 404 as an unknown path.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.errors import GatewayError
from gateway.metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    context = request.scope.get("gateway.context")
    client = context.client if context is not None else None
    if not _allowed(client, state.settings.metrics_allowed_networks):
        raise GatewayError(404, f"No route for {request.url.path}.")
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE)


def _allowed(client: str | None, networks: list) -> bool:
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in networks)
