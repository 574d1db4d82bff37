"""mainapp's Celery app: consumes the ``mainapp`` queue (``celery -A mainapp.worker worker``)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mainapp.settings")
django.setup()

from celery.signals import worker_ready  # noqa: E402
from django.conf import settings  # noqa: E402

from mainapp.eventbus.handlers import consumer  # noqa: E402
from mainapp.eventbus.stores import DjangoDeadLetterStore  # noqa: E402
from msh_common.tracing import instrument  # noqa: E402
from msh_events.celery_app import make_celery_app  # noqa: E402
from msh_events.tasks import RetryPolicy, register_event_task  # noqa: E402

instrument("mainapp", "celery", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set

app = make_celery_app(
    "mainapp",
    settings.CELERY_BROKER_URL,
    visibility_timeout=settings.CELERY_VISIBILITY_TIMEOUT,
    restore_interval=settings.CELERY_RESTORE_INTERVAL,
)
app.conf.include = ["mainapp.accounts.tasks"]

handle_event = register_event_task(
    app,
    consumer=consumer,
    dead_letters=DjangoDeadLetterStore,
    policy=RetryPolicy(
        max_retries=settings.EVENTS_MAX_RETRIES,
        backoff_max=settings.EVENTS_RETRY_BACKOFF_MAX,
        handler_delay=settings.EVENTS_HANDLER_DELAY,
    ),
)


@worker_ready.connect
def serve_metrics(**_: object) -> None:
    """Metrics on METRICS_PORT (unset natively: nothing listens): events handled, dead
    letters, and how many messages wait in the queue."""
    from mainapp.metrics import SERVICE, register_store_gauges
    from msh_common.metrics import redis_queue_depth, register_gauges, start_metrics_server

    if start_metrics_server() is not None:
        register_store_gauges()
        register_gauges(SERVICE, queue_depth=redis_queue_depth(settings.CELERY_BROKER_URL, SERVICE))
