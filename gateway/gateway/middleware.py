"""Request id, access log and last-resort error handling, as one pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.context import RequestContext, request_id_var, set_context
from gateway.errors import error_response
from gateway.headers import REQUEST_ID, request_id_from
from gateway.logging import log_access

logger = logging.getLogger("gateway")

# Logged when the client went away before any response was started (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


class RequestContextMiddleware:
    """Gives each request an id, returns it on every response, and logs one access line.

    Also turns unexpected exceptions into the platform's JSON 500 (with the request id)
    instead of the server's plain-text one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        context = RequestContext(request_id=request_id_from(scope["headers"]))
        set_context(scope, context)
        token = request_id_var.set(context.request_id)
        request_id_header = (REQUEST_ID, context.request_id.encode("ascii"))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                context.status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), request_id_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            if context.status is not None:
                raise  # Too late for an error response; the server aborts the connection.
            logger.exception("unhandled error while serving %s %s", scope["method"], scope["path"])
            response = error_response(500, "Internal server error.")
            await response(scope, receive, send_with_request_id)
        finally:
            log_access(
                method=scope["method"],
                path=scope["path"],
                status=context.status or CLIENT_CLOSED_REQUEST,
                upstream=context.upstream,
                duration_ms=(time.perf_counter() - started) * 1000,
                request_id=context.request_id,
            )
            request_id_var.reset(token)
