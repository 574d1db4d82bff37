"""mainapp's Prometheus metrics: request counts and latency (a middleware), ``GET /metrics``,
and the scrape-time gauges of its outbox and dead letters (see ``msh_common.metrics``).

``/metrics`` is not routed by the gateway (only /api/auth/, /api/users/, /admin/... are), so it
is reachable only on the internal network, where Prometheus scrapes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

from msh_common.metrics import observe_request, register_gauges, render

SERVICE = "mainapp"


class MetricsMiddleware:
    """Counts every request by method, URL pattern (not the raw path) and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match is not None and match.route else "unmatched"
        if route not in ("/metrics", "/health"):
            observe_request(
                SERVICE,
                request.method or "",
                route,
                response.status_code,
                time.perf_counter() - start,
            )
        return response


def _closing(query: Callable[[], int]) -> Callable[[], int]:
    """Scrapes of a worker or relay run in short-lived threads: give back their connection."""

    def run() -> int:
        try:
            return query()
        finally:
            connection.close()

    return run


def register_store_gauges() -> None:
    from mainapp.eventbus.models import DeadLetter, OutboxEvent

    register_gauges(
        SERVICE,
        outbox_backlog=_closing(OutboxEvent.objects.filter(sent_at__isnull=True).count),
        dead_letters=_closing(DeadLetter.objects.filter(replayed_at__isnull=True).count),
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    register_store_gauges()
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)
