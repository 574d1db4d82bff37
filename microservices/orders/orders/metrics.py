"""orders' Prometheus metrics: request counts and latency (an ASGI middleware), ``GET /metrics``,
and the scrape-time gauges of its outbox and dead letters (see ``msh_common.metrics``).

``/metrics`` is outside the gateway's routes (/api/orders/, /api/cart/, /api/reports/), so only
the internal network (Prometheus) reaches it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Response
from sqlalchemy import func, select
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from msh_common.metrics import observe_request, register_gauges, render

from .api.middleware import HttpMiddleware
from .settings import SERVICE
from .store.db import Database
from .store.events import SqlOutboxStore
from .store.models import DeadLetter

UNCOUNTED = frozenset({"/metrics", "/health"})


def register_store_gauges(db: Database) -> None:
    def dead_letters() -> int:
        with db.transaction() as session:
            query = select(func.count()).select_from(DeadLetter)
            return int(session.scalar(query.where(DeadLetter.replayed_at.is_(None))) or 0)

    register_gauges(SERVICE, outbox_backlog=SqlOutboxStore(db).backlog, dead_letters=dead_letters)


@dataclass(eq=False)
class MetricsMiddleware(HttpMiddleware):
    """Times every HTTP request and counts it by method, route template and status."""

    routes: Any

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = self._route(scope)
                if route not in UNCOUNTED:
                    observe_request(
                        SERVICE, scope["method"], route, status, time.perf_counter() - start
                    )
            await send(message)

        await self.app(scope, receive, send_and_record)

    def _route(self, scope: Scope) -> str:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "unmatched")
        return "unmatched"


def install_metrics(app: FastAPI, db: Database) -> None:
    register_store_gauges(db)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = render()
        return Response(body, media_type=content_type)

    app.add_middleware(MetricsMiddleware, routes=lambda: app.router.routes)
