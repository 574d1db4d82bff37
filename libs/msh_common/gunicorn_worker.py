"""gunicorn's threaded worker, answering requests it cannot parse in the platform's error shape.

gunicorn refuses a malformed request or one over its limits (a request line over
``--limit-request-line``: 414; headers over ``--limit-request-field_size`` or
``--limit-request-fields``: 431; a broken request line or header: 400) before the app sees it,
and writes an HTML page for it. A service does not count on the gateway to keep such requests
away, so its answer must be the one JSON error shape too. Served with ``gunicorn --worker-class
msh_common.gunicorn_worker.JsonErrorThreadWorker`` (the catalog's launchers do).

gunicorn keeps the status mapping (``Worker.handle_error``) and sends every such page through
one function, ``gunicorn.util.write_error``; the worker replaces that function in its own
process once it starts, so the mapping stays gunicorn's and only the body changes.
"""

from __future__ import annotations

import socket

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from msh_common.errors import error_json


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error``'s signature, with a JSON body instead of HTML."""
    body = error_json(status_int, mesg or reason)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose parse-error pages are JSON."""

    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()
