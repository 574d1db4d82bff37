"""What every service's Celery worker process does besides consuming: its metrics endpoint and
the outbox sweep."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery, signals

from msh_common.metrics import redis_queue_depth, register_gauges, start_metrics_server

from .outbox import OutboxRelay
from .relay import Chore, run_relay_process


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


def sweep_when_ready(
    app: Celery,
    relay: Callable[[], OutboxRelay],
    interval: float,
    chores: Callable[[], Sequence[Chore]] = tuple,
) -> None:
    """Once ``app``'s worker is up, sweep the outbox (and run the service's chores) in a daemon
    thread of the worker process, until the worker shuts down.

    The sweep used to be a process of its own per service, ~90 MiB each at rest for a loop that
    wakes every few seconds; here it shares the worker's interpreter and imports. Every replica's
    worker sweeps: claims are exclusive, so they never send an event twice between them.
    """
    stop = threading.Event()

    def start(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return  # another app's worker in this process
        threading.Thread(
            target=run_relay_process,
            args=(relay(), interval, chores()),
            kwargs={"stop": stop},
            name="outbox-sweep",
            daemon=True,
        ).start()

    def finish(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            stop.set()

    signals.worker_ready.connect(start, weak=False)
    signals.worker_shutdown.connect(finish, weak=False)
