"""``GET /health``: 200 only when MongoDB and the broker both answer (the gateway's /health
requires it of every upstream; :mod:`msh_common.health`)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from catalog.settings import SERVICE
from msh_common.health import redis_probe, report

from .context import context

bp = APIBlueprint(
    "health",
    __name__,
    abp_tags=[Tag(name="health", description="Is the service up, and its stores")],
)


class Health(BaseModel):
    status: str
    service: str
    checks: dict[str, dict[str, str]]


@bp.get("/health", responses={200: Health, 503: Health})
def health() -> Response:
    """Liveness and readiness: the database and the broker."""
    checks = {"database": context().store.ping, "broker": redis_probe(context().settings.redis_url)}
    result = report(SERVICE, checks)
    response = jsonify(result.body)
    response.status_code = result.status_code
    return response
