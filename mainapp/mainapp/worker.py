"""mainapp's Celery app: consumes the ``mainapp`` queue (``celery -A mainapp.worker worker``)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mainapp.settings")
django.setup()

from msh_common.tracing import instrument  # noqa: E402
from msh_events.contrib.django.service import worker  # noqa: E402

instrument("mainapp", "celery", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set

app = worker()
app.conf.include = ["mainapp.accounts.tasks"]
