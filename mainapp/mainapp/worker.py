"""mainapp's Celery app: consumes the ``mainapp`` queue (``celery -A mainapp.worker worker``)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mainapp.settings")
django.setup()

from django.conf import settings  # noqa: E402

from mainapp.eventbus.handlers import consumer  # noqa: E402
from mainapp.eventbus.stores import DjangoDeadLetterStore  # noqa: E402
from msh_common.tracing import instrument  # noqa: E402
from msh_events.celery_app import make_celery_app  # noqa: E402
from msh_events.tasks import register_event_task  # noqa: E402
from msh_events.worker import serve_metrics_when_ready  # noqa: E402

instrument("mainapp", "celery", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set

app = make_celery_app(
    "mainapp",
    settings.CELERY_BROKER_URL,
    settings.EVENTS,
)
app.conf.include = ["mainapp.accounts.tasks"]

handle_event = register_event_task(
    app,
    consumer=consumer,
    dead_letters=DjangoDeadLetterStore,
    policy=settings.EVENTS.retry_policy(),
)


def _store_gauges() -> None:
    from mainapp.metrics import register_store_gauges  # imported only where metrics are served

    register_store_gauges()


serve_metrics_when_ready("mainapp", settings.CELERY_BROKER_URL, _store_gauges)
