"""``GET /health``: 200 only when the database and the broker both answer (the gateway and
the launcher poll it)."""

from __future__ import annotations

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])


def _check(probe) -> str | None:
    try:
        probe()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _ping_broker(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


@router.get("/health", summary="Health of the service, its database and its broker")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {
        "database": await run_in_threadpool(_check, state.db.ping),
        "broker": await run_in_threadpool(_check, lambda: _ping_broker(state.settings.broker_url)),
    }
    healthy = all(error is None for error in checks.values())
    return JSONResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "service": "orders",
            "checks": {
                name: {"status": "ok"} if error is None else {"status": "error", "error": error}
                for name, error in checks.items()
            },
        },
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
