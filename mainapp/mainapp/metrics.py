"""mainapp's Prometheus metrics: request counts and latency (a middleware), ``GET /metrics``,
and the scrape-time gauges of its outbox and dead letters (see ``msh_common.metrics``).

``/metrics`` is not routed by the gateway (only /api/auth/, /api/users/, /admin/... are), so it
is reachable only on the internal network, where Prometheus scrapes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from msh_common.metrics import observe_request, render
from msh_events.contrib.django.service import service_events

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


def metrics_view(request: HttpRequest) -> HttpResponse:
    service_events().store_gauges()
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)
