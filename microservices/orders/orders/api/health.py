"""``GET /health``: 200 only when the database and the broker both answer (the gateway and
the launcher poll it; :mod:`msh_common.health`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from msh_common.health import redis_probe, report

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health of the service, its database and its broker")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {"database": state.db.ping, "broker": redis_probe(state.settings.broker_url)}
    result = await run_in_threadpool(report, "orders", checks)
    return JSONResponse(
        result.body, status_code=result.status_code, headers={"Cache-Control": "no-store"}
    )
