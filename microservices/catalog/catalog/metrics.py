"""The catalog's Prometheus metrics: request counts and latency, ``GET /metrics``, and the
scrape-time gauges of its outbox and dead letters (see ``msh_common.metrics``).

``/metrics`` is outside ``/api/catalog/``, so the gateway never routes it: only the internal
network (Prometheus) reaches it.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from catalog.settings import SERVICE
from catalog.store import Store
from catalog.store.deadletters import DEAD
from msh_common.metrics import observe_request, register_gauges, render

UNCOUNTED = frozenset({"/metrics", "/health"})


def register_store_gauges(store: Store) -> None:
    register_gauges(
        SERVICE,
        outbox_backlog=store.outbox.backlog,
        dead_letters=lambda: store.dead_letters.collection.count_documents({"state": DEAD}),
    )


def install_metrics(app: Flask, store: Store) -> None:
    """Time every request; count it by method, URL rule (not the raw path) and status."""
    register_store_gauges(store)

    @app.before_request
    def _start_timer() -> None:
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        start = g.pop("metrics_start", None)
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if start is not None and route not in UNCOUNTED:
            observe_request(
                SERVICE, request.method, route, response.status_code, time.perf_counter() - start
            )
        return response

    @app.get("/metrics", doc_ui=False)
    def metrics() -> Response:
        body, content_type = render()
        return Response(body, content_type=content_type)
