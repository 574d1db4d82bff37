"""``GET /health`` (readiness: every upstream is up) and ``GET /health/live`` (liveness).

Load balancers and the platform launcher poll ``/health``; 503 takes the gateway out of
rotation. ``/health/live`` only says the process answers, so an orchestrator does not
restart a healthy gateway because a service behind it is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.balancer import Balancer
from gateway.client import FetchError, UpstreamClient
from gateway.context import request_id_var
from gateway.routing import Upstream
from msh_common.breaker import STATE_NAMES

router = APIRouter()
logger = logging.getLogger("gateway.health")

_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/health", include_in_schema=False)
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    upstreams = list(state.routes.upstreams.values())
    balancers: dict[str, Balancer] = state.balancers
    results = await asyncio.gather(
        *(
            _probed_already()
            if balancers[upstream.name].probed
            else probe(state.upstream_client, upstream, state.settings.health_timeout_seconds)
            for upstream in upstreams
        )
    )
    report: dict[str, dict[str, Any]] = {}
    for upstream, result in zip(upstreams, results, strict=True):
        balancer = balancers[upstream.name]
        report[upstream.name] = _with_instances(balancer, result)
    results = list(report.values())
    up = sum(result["status"] == "ok" for result in results)
    status = "ok" if up == len(results) else "degraded" if up else "unavailable"
    return JSONResponse(
        {"status": status, "upstreams": report},
        status_code=200 if status == "ok" else 503,
        headers=_NO_STORE,
    )


async def _probed_already() -> dict[str, Any]:
    return {}  # a balanced upstream's instances are probed in the background


def _with_instances(balancer: Balancer, result: dict[str, Any]) -> dict[str, Any]:
    """The probe's result and the breaker state. One instance: a passing probe lets its open
    breaker probe again at once. Several (each probed in the background): the upstream is up
    while any instance is in rotation, and the instances are counted by state."""
    if not balancer.probed:
        breaker = balancer.instances[0].breaker
        if result["status"] == "ok":
            breaker.upstream_seen_healthy()
        return {**result, "breaker": STATE_NAMES[breaker.state]}
    # Counts, not addresses: this endpoint is public (/metrics has each instance's state).
    states = Counter(STATE_NAMES[i.breaker.state] for i in balancer.instances)
    status = "ok" if states["closed"] else "unavailable"
    counts = {name: states[name] for name in STATE_NAMES.values()}
    return {"status": status, "breaker": STATE_NAMES[balancer.state], "instances": counts}


@router.get("/health/live", include_in_schema=False)
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


async def probe(client: UpstreamClient, upstream: Upstream, seconds: float) -> dict[str, Any]:
    """GET the upstream's health path; ok only on a 200 within ``seconds``.

    Errors are summarised without addresses: this endpoint is public.
    """
    headers = {"x-request-id": request_id_var.get() or ""}
    started = time.perf_counter()
    try:
        response = await client.get(upstream.url_for(upstream.health_path, ""), seconds, headers)
    except TimeoutError:
        return {"status": "unavailable", "error": f"timed out after {seconds:g}s"}
    except FetchError as exc:
        logger.warning("health check of %s failed: %r", upstream.name, exc)
        return {"status": "unavailable", "error": "unreachable"}
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    if response.status != 200:
        return {
            "status": "unavailable",
            "error": f"answered HTTP {response.status}",
            "latency_ms": latency_ms,
        }
    return {"status": "ok", "latency_ms": latency_ms}
