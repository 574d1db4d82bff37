"""A Celery app per service, configured for at-least-once delivery over Redis.

Why these settings:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after its
  handler finished, so a worker killed mid-task leaves it to be delivered again.
* ``worker_prefetch_multiplier=1``: a worker holds at most one unacknowledged message per process,
  so a crash strands as little as possible.
* ``visibility_timeout`` and ``unacked_restore_interval``/``throttle``: with Redis, a message taken
  by a worker that died returns to its queue once it has been unacknowledged for
  ``visibility_timeout`` seconds, found by a sweep every ``unacked_restore_interval`` seconds
  (kombu's default sweep is ~100 s; we make it the interval itself). The timeout must exceed the
  longest handler run, including retry countdowns, or a slow task would be delivered twice.
* ``broker_transport``: kombu's Redis transport with a connection-loss race mended (see
  :mod:`msh_events.transport`), so a worker outlives a Redis restart.
"""

from __future__ import annotations

from celery import Celery

from .config import EventsConfig
from .transport import TRANSPORT

EVENT_TASK_NAME = "msh.events.handle"


def make_celery_app(
    service: str,
    broker_url: str,
    config: EventsConfig | None = None,
) -> Celery:
    """Create the Celery app of ``service``; its worker consumes only the ``service`` queue."""
    config = config or EventsConfig()
    app = Celery(service, broker=broker_url)
    app.conf.update(
        broker_transport=TRANSPORT,
        task_default_queue=service,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": config.visibility_timeout,
            "unacked_restore_interval": config.restore_interval,
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return app
