"""``GET /health``: 200 only when the database and the broker both answer
(:mod:`msh_common.health`)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from msh_common.health import redis_probe, report


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _ping_database, "broker": redis_probe(settings.CELERY_BROKER_URL)}
    result = report("mainapp", checks)
    return JsonResponse(result.body, status=result.status_code)
