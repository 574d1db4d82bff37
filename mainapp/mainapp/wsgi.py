"""The WSGI application: the REST API and the admin, served through :mod:`mainapp.asgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mainapp.settings")

from msh_common.tracing import instrument

instrument("mainapp", "django", "psycopg")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
application = get_wsgi_application()
