"""The gateway's outermost ASGI app: what every request goes through, proxied or not.

For each request it establishes who the client is (trusted proxies), the request id and
the trace, answers CORS preflights, hands the request either to the gateway's own API
(health, metrics, OpenAPI, docs: a FastAPI app) or to the reverse proxy, decorates every
response (request id, rate-limit, security and CORS headers), turns refusals into the
platform's JSON errors, and finally writes the access-log line and counts the request.

Proxied requests never enter FastAPI/Starlette: their routing, middleware stack and
request objects cost more than the whole proxy path (measured: "Gateway performance" in the
repository README).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import KW_ONLY, dataclass

from fastapi import FastAPI
from opentelemetry.trace import Span
from starlette.types import Message, Receive, Scope, Send

from gateway.context import RequestContext, request_id_var
from gateway.cors import CorsPolicy
from gateway.errors import GatewayError
from gateway.forwarding import ClientAddressResolver
from gateway.headers import REQUEST_ID, RequestHead, scan_request
from gateway.logging import AccessLog
from gateway.metrics import Metrics
from gateway.otel import RequestSpans
from gateway.proxy import ReverseProxy
from gateway.response_headers import ResponseHeaders
from gateway.routing import DEFAULT_METHODS, RouteTable
from gateway.spa import SpaFiles
from gateway.tracing import start_trace
from gateway.websocket import WebSocketProxy

logger = logging.getLogger("gateway")

_bits = random.getrandbits
# Logged when the client went away before any response was started (nginx's convention).
CLIENT_CLOSED_REQUEST = 499

_JSON = (b"content-type", b"application/json")
# Upstream (access log) and metric label of what the SPA files answered.
_SPA = "spa"


@dataclass(eq=False)
class Gateway:
    """ASGI app: ``python -m gateway`` serves one of these."""

    api: FastAPI
    routes: RouteTable
    proxy: ReverseProxy
    _: KW_ONLY
    resolver: ClientAddressResolver
    cors: CorsPolicy
    headers: ResponseHeaders
    metrics: Metrics
    access_log: AccessLog
    # What the gateway's own API answers; everything else is proxied.
    local_paths: frozenset[str]
    local_prefixes: tuple[str, ...] = ()
    # The browser app: GET/HEAD of paths no route takes (see spa.py).
    spa: SpaFiles | None = None
    # OpenTelemetry request spans, only when tracing is configured (see otel.py).
    spans: RequestSpans | None = None
    # Upgrades on routes marked websocket = true (see websocket.py).
    websockets: WebSocketProxy | None = None

    def _is_local(self, path: str) -> bool:
        return path in self.local_paths or path.startswith(self.local_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        started = time.perf_counter()
        head = scan_request(scope["headers"])
        context = self._context(scope, head)
        span = (
            self.spans.start(context.trace, head.traceparent, scope["method"], scope["path"])
            if self.spans is not None
            else None
        )
        token = request_id_var.set(context.request_id)
        try:
            await self._answer(context, head, scope, receive, send)
        finally:
            request_id_var.reset(token)
            self._record(context, scope, started, span)

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.api(scope, receive, send)
        elif scope["type"] == "websocket" and self.websockets is not None:
            await self.websockets(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})  # before accepting: 403

    def _context(self, scope: Scope, head: RequestHead) -> RequestContext:
        """Who the client is (believing forwarding headers only from trusted proxies), the
        request id and the trace."""
        peer = scope.get("client")
        client = peer[0] if peer else None
        scheme = scope["scheme"]
        if self.resolver.enabled and client is not None and self.resolver.is_trusted(client):
            client = self.resolver.client(client, head.forwarded_for)
            if head.forwarded_proto in (b"http", b"https"):
                scheme = head.forwarded_proto.decode("ascii")
            if head.forwarded_host:
                head.host = head.forwarded_host
        trace = start_trace(head.traceparent, head.tracestate)
        request_id = head.request_id or (trace.trace_id if not trace.continued else None)
        return RequestContext(request_id or f"{_bits(128):032x}", trace, client, scheme)

    async def _answer(
        self, context: RequestContext, head: RequestHead, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Route the request; any failure before the response started becomes a JSON error."""
        try:
            await self._route(context, head, scope, receive, send)
        except GatewayError as exc:
            if context.status is None:
                await self._send_error(context, exc, send)
        except Exception:
            method, path = scope["method"], scope["path"]
            if context.status is not None:
                # Too late for an error response; the server aborts the connection.
                logger.exception("error after the response to %s %s started", method, path)
                return
            logger.exception("unhandled error while serving %s %s", method, path)
            await self._send_error(context, GatewayError(500, "Internal server error."), send)

    async def _route(
        self, context: RequestContext, head: RequestHead, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """CORS preflights, then the gateway's own API, the SPA, or the proxy."""
        path: str = scope["path"]
        if self.cors.enabled and head.origin is not None:
            if self.cors.allows(head.origin):
                context.cors_origin = head.origin
            if scope["method"] == "OPTIONS" and head.cors_request_method is not None:
                await self._preflight(context, head, scope, path, send)
                return
        if self._is_local(path):
            await self._serve_local(context, scope, receive, send)
            return
        if self.spa is not None and self.spa.handles(scope["method"], path):
            # The route found here is handed on, so the proxy does not match again.
            context.route = self.routes.match(path)
            if context.route is None:
                await self._serve_spa(context, scope, path, send)
                return
        await self.proxy(context, head, scope, receive, send)

    def _record(
        self, context: RequestContext, scope: Scope, started: float, span: Span | None
    ) -> None:
        """The request's metric, access-log line and span, however it ended."""
        path: str = scope["path"]
        route = context.route.name if context.route is not None else None
        status = context.status or CLIENT_CLOSED_REQUEST
        label = route or (_SPA if context.upstream == _SPA else self._metric_label(path))
        self.metrics.count_request(label, scope["method"], status)
        self.access_log.write(
            method=scope["method"],
            path=path,
            route=route,
            status=status,
            upstream=context.upstream,
            duration_ms=(time.perf_counter() - started) * 1000,
            request_id=context.request_id,
            trace_id=context.trace.trace_id,
            user_id=context.user_id,
            client=context.client,
        )
        if span is not None and self.spans is not None:
            self.spans.finish(span, route, context.upstream, status)

    async def _serve_local(
        self, context: RequestContext, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["gateway.context"] = context  # the client address, for /metrics

        async def send_decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                context.status = message["status"]
                headers = [(name.lower(), value) for name, value in message.get("headers", ())]
                message = {**message, "headers": self.headers.decorate(context, headers)}
            await send(message)

        await self.api(scope, receive, send_decorated)

    async def _serve_spa(
        self, context: RequestContext, scope: Scope, path: str, send: Send
    ) -> None:
        assert self.spa is not None
        context.upstream = _SPA

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                context.status = message["status"]
            await send(message)

        await self.spa.serve(
            scope["method"],
            path,
            scope["headers"],
            send_tracked,
            lambda headers: self.headers.decorate(context, headers),
        )

    async def _preflight(
        self, context: RequestContext, head: RequestHead, scope: Scope, path: str, send: Send
    ) -> None:
        if context.cors_origin is None:
            raise GatewayError(403, "This origin may not call the API.", code="cors_forbidden")
        route = self.routes.match(path)
        methods = route.allow if route is not None else ", ".join(sorted(DEFAULT_METHODS))
        requested = next(
            (v for n, v in scope["headers"] if n == b"access-control-request-headers"), None
        )
        headers = self.cors.preflight_headers(context.cors_origin, methods, requested)
        headers.append((REQUEST_ID, context.request_id.encode("ascii")))
        context.status = 204
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _send_error(self, context: RequestContext, exc: GatewayError, send: Send) -> None:
        body = exc.body()
        headers = [_JSON, (b"content-length", b"%d" % len(body)), *exc.asgi_headers()]
        context.status = exc.status_code
        await send(
            {
                "type": "http.response.start",
                "status": exc.status_code,
                "headers": self.headers.decorate(context, headers),
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _metric_label(self, path: str) -> str:
        """Label of a request no route took: the gateway's own path, or "unmatched" (never
        an arbitrary path: label values must stay few)."""
        if path in self.local_paths:
            return path
        for prefix in self.local_prefixes:
            if path.startswith(prefix):
                return prefix
        return "unmatched"
