"""mainapp's one server process: the REST API and the admin over HTTP, the notifications
sockets (``/ws/notifications``, Django Channels) over WebSockets. Served by uvicorn:
``uvicorn mainapp.asgi:application``.

HTTP goes to the WSGI application (:mod:`mainapp.wsgi`) through a2wsgi's bounded thread pool,
not to Django's ASGI handler: measured on the load bench, the handler's thread per request grew
the process to 175 MiB and made a login 13 ms slower, where the pool costs a login 1-3 ms
against gunicorn and one process serves what gunicorn's two and a separate sockets process did
(~150 MiB less at rest: bench/REPORT.md).
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from channels.routing import ProtocolTypeRouter, URLRouter

from mainapp.wsgi import application as django_wsgi
from msh_common.gc_freeze import freeze_startup_objects

# As many requests at once as gunicorn's four threads took: logins hash on two cores, and each
# thread holds one database connection.
HTTP_THREADS = 4

# the consumers import models: only once mainapp.wsgi has set Django up
from mainapp.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": WSGIMiddleware(django_wsgi, workers=HTTP_THREADS),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
freeze_startup_objects()  # the sockets' fan-out, measured: msh_common.gc_freeze
