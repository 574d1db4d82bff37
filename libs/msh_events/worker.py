"""What every service's Celery worker process does besides consuming: its metrics endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import signals

from msh_common.metrics import redis_queue_depth, register_gauges, start_metrics_server


def serve_metrics_when_ready(
    service: str, broker_url: str, store_gauges: Callable[[], None] = lambda: None
) -> None:
    """Once the worker is up, serve metrics on METRICS_PORT (unset natively: nothing listens):
    events handled, dead letters and outbox backlog (``store_gauges`` registers the service's
    own), and how many messages wait in the service's queue."""

    def serve(**_: Any) -> None:
        if start_metrics_server() is not None:
            store_gauges()
            register_gauges(service, queue_depth=redis_queue_depth(broker_url, service))

    signals.worker_ready.connect(serve, weak=False)
