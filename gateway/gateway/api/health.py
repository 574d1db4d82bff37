"""GET /health: the gateway is healthy only when every upstream it routes to is.

Load balancers and the platform launcher poll this; 503 takes the gateway out of rotation.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.context import request_id_var
from gateway.routing import Upstream

router = APIRouter()
logger = logging.getLogger("gateway.health")

HEALTH_PATH = "/health"


@router.get(HEALTH_PATH, include_in_schema=False)
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    upstreams = state.routes.upstreams.values()
    results = await asyncio.gather(
        *(
            probe(state.upstream_client.session, upstream, state.settings.health_timeout_seconds)
            for upstream in upstreams
        )
    )
    report = {upstream.name: result for upstream, result in zip(upstreams, results, strict=True)}
    healthy = all(result["status"] == "ok" for result in results)
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "upstreams": report},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


async def probe(
    session: aiohttp.ClientSession, upstream: Upstream, seconds: float
) -> dict[str, str]:
    """GET the upstream's /health; ok only on a 200 within ``seconds``.

    Errors are summarised without addresses: this endpoint is public.
    """
    headers = {"x-request-id": request_id_var.get() or ""}
    try:
        async with asyncio.timeout(seconds):
            async with session.get(
                upstream.url_for(HEALTH_PATH, ""), headers=headers, allow_redirects=False
            ) as response:
                await response.read()
    except TimeoutError:
        return {"status": "unavailable", "error": f"timed out after {seconds:g}s"}
    except (aiohttp.ClientError, OSError) as exc:
        logger.warning("health check of %s failed: %r", upstream.name, exc)
        return {"status": "unavailable", "error": "unreachable"}
    if response.status != 200:
        return {"status": "unavailable", "error": f"answered HTTP {response.status}"}
    return {"status": "ok"}
