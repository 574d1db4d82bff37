"""``GET /health``: 200 only when MongoDB and the broker both answer (the gateway's /health
requires it of every upstream)."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from catalog.settings import SERVICE

from .context import context

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")])

PROBE_TIMEOUT = 2


class Health(BaseModel):
    status: str
    service: str
    checks: dict[str, dict[str, str]]


def _check(probe: Callable[[], object]) -> str | None:
    try:
        probe()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _ping_broker() -> None:
    client = redis.Redis.from_url(
        context().settings.redis_url,
        socket_timeout=PROBE_TIMEOUT,
        socket_connect_timeout=PROBE_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


@bp.get("/health", responses={200: Health, 503: Health})
def health() -> Response:
    """Liveness and readiness: the database and the broker."""
    checks = {"database": _check(context().store.ping), "broker": _check(_ping_broker)}
    healthy = all(error is None for error in checks.values())
    response = jsonify(
        {
            "status": "ok" if healthy else "unavailable",
            "service": SERVICE,
            "checks": {
                name: {"status": "ok"} if error is None else {"status": "error", "error": error}
                for name, error in checks.items()
            },
        }
    )
    response.status_code = 200 if healthy else 503
    return response
