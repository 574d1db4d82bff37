"""The reverse proxy: every request the gateway does not answer itself goes through here.

A raw ASGI handler rather than a framework endpoint, so nothing parses or buffers what it
does not need to: the request body is read once (it must be re-sent with a Content-Length),
the response is streamed chunk by chunk as it arrives. In order, a request is:

    routed -> authenticated (route's ``auth``) -> rate-limited (route's class) -> body read
    (route's cap) -> let through by the upstream's circuit breaker -> sent upstream (idempotent
    methods tried again on a connection failure) -> response relayed.

Any refusal before the response starts is raised as :class:`GatewayError`; the edge turns
it into the platform's JSON error.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from urllib.parse import unquote

import anyio
from starlette.types import Receive, Scope, Send

from gateway.auth import AuthError, EdgeAuthenticator, bearer_token
from gateway.balancer import Balancer, Instance, Target
from gateway.compression import accepted_codings, gzip, gzip_length, gzipped_headers
from gateway.context import RequestContext
from gateway.errors import GatewayError
from gateway.headers import RequestHead, client_response_headers
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.routing import Route, RouteTable
from gateway.streams import StreamSlots
from gateway.upstream import (
    UpstreamBusy,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)
from msh_auth import Principal, challenge
from msh_common.breaker import BreakerOpen

logger = logging.getLogger("gateway.proxy")

# "http://host:port" at the start of an absolute-form request target (RFC 9112 3.2.2).
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_SEGMENT_SEPARATORS = re.compile(r"[/\\]")
# RFC 6750 2.3's parameter, or anything shaped like a JWT ("eyJ" is base64url for '{"').
_QUERY_TOKEN = re.compile(rb"(?:^|&)access_token=|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")
_CR_LF = re.compile(rb"[\r\n\x00]")
# RFC 9110 9.2.2: safe to send twice.
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
# Closing the connection after these keeps an unread (possibly huge) body from being drained.
_CLOSE = {"Connection": "close"}
# Longest request target (path and query, as forwarded) sent upstream; longer gets a JSON 414
# here rather than the upstream server's own (gunicorn's HTML-less 414 above a 4094-byte
# request line, method and protocol included).
MAX_TARGET_BYTES = 4000

Decorate = Callable[[RequestContext, list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]


class ClientDisconnected(Exception):
    """The client went away while its request body was being read."""


@dataclass(eq=False)
class ReverseProxy:
    """Forwards requests to the upstream chosen by the route table, with the edge checks."""

    routes: RouteTable
    balancers: Mapping[str, Balancer]
    auth: EdgeAuthenticator
    limiter: RateLimiter
    metrics: Metrics
    decorate: Decorate
    _: KW_ONLY
    retries: int = 1
    stream_slots: StreamSlots = field(default_factory=lambda: StreamSlots(5))

    async def __call__(
        self, context: RequestContext, head: RequestHead, scope: Scope, receive: Receive, send: Send
    ) -> None:
        raw_path, path = request_target(scope)
        route = self._route(context, scope, path)
        principal = await self._authenticate(route, scope["method"], head)
        if principal is not None:
            context.principal = principal
        if route.split is not None:
            canary = next((value for name, value in head.forward if name == b"x-canary"), None)
            subject = principal.user_id if principal is not None else None
            context.upstream = route.split.choose(canary, subject).name
        if route.rate_limit != "none":
            await self._rate_limit(context, route, principal)
        try:
            body = await read_body(head, receive, route.max_body_bytes)
        except ClientDisconnected:
            return
        if not route.is_stream(path):
            await self._forward(context, head, scope, raw_path, body, receive, send)
            return
        who = f"u:{principal.user_id}" if principal is not None else f"ip:{context.client}"
        with self.stream_slots.slot(who):
            await self._forward(context, head, scope, raw_path, body, receive, send, stream=True)

    def _route(self, context: RequestContext, scope: Scope, path: str) -> Route:
        """The request's route, if its method and query string are acceptable there."""
        route = context.route or self.routes.match(path)
        if route is None:
            raise GatewayError(404, f"No route for {path}.")
        context.route = route
        context.upstream = route.upstream.name
        method = scope["method"]
        if method not in route.methods:
            raise GatewayError(
                405, f"Method {method} is not allowed here.", headers={"Allow": route.allow}
            )
        query: bytes = scope["query_string"]
        if query and (b"access_token=" in query or b"eyJ" in query) and _QUERY_TOKEN.search(query):
            raise _refused(
                400,
                "token_in_query",
                "Tokens are not accepted in the query string; send an Authorization header.",
                "invalid_request",
            )
        return route

    async def _forward(
        self,
        context: RequestContext,
        head: RequestHead,
        scope: Scope,
        raw_path: str,
        body: bytes,
        receive: Receive,
        send: Send,
        *,
        stream: bool = False,
    ) -> None:
        """Send the request upstream and relay the response as it arrives."""
        assert context.route is not None
        lines = _header_lines(context, head)
        outgoing = Outgoing(context, head, scope, raw_path, body, stream, lines)
        instance, response = await self._request_upstream(context.route, outgoing)
        completed = False
        try:
            response_headers = self.decorate(
                context, client_response_headers(response.headers, response.status)
            )
            context.status = response.status
            # (a HEAD response's Content-Length describes a body it does not carry)
            gzipped = (
                outgoing.method != "HEAD"
                and gzip_length(response.status, response_headers) is not None
                and b"gzip" in accepted_codings(head.forward)
            )
            completed = await _relay(response, response_headers, receive, send, gzipped)
        finally:
            instance.outstanding -= 1
            if completed:
                response.release()  # Body fully read: the connection goes back to the pool.
            else:
                response.close()

    async def _authenticate(self, route: Route, method: str, head: RequestHead) -> Principal | None:
        """The verified caller, if any. Routes without ``auth`` still identify a caller with
        a valid token (for the per-user rate limit) but never refuse one."""
        required = route.auth_for(method)
        if required == "none":
            if head.authorization is None:
                return None
            try:
                token = bearer_token(head.authorization)
                return await self.auth.verify(token) if token else None
            except AuthError:
                return None  # the service decides what a bad token means on its public paths
        try:
            token = bearer_token(head.authorization)
            if token is None:
                raise AuthError(401, "not_authenticated", "A bearer access token is required.")
            principal = await self.auth.verify(token)
        except AuthError as exc:
            self.metrics.auth_refusals.labels(exc.code).inc()
            headers = {"Retry-After": "5"} if exc.status == 503 else {}
            if exc.status == 401:
                headers["WWW-Authenticate"] = exc.www_authenticate
            raise GatewayError(exc.status, exc.message, code=exc.code, headers=headers) from None
        if required == "staff" and not principal.is_staff:
            self.metrics.auth_refusals.labels("permission_denied").inc()
            raise _refused(
                403, "permission_denied", "This needs a staff account.", "insufficient_scope"
            )
        return principal

    async def _rate_limit(
        self, context: RequestContext, route: Route, principal: Principal | None
    ) -> None:
        key = f"u:{principal.user_id}" if principal is not None else f"ip:{context.client}"
        if route.rate_limit == "strict":
            name = "strict"
            decision = await self.limiter.hit_shared(name, key)
        else:
            name = "user" if principal is not None else "anonymous"
            decision = self.limiter.hit(name, key)
        context.extra_headers = decision.headers()
        if not decision.allowed:
            self.metrics.rate_limited.labels(name).inc()
            raise GatewayError(429, "Too many requests; slow down.", code="rate_limited")

    async def _request_upstream(
        self, route: Route, outgoing: Outgoing
    ) -> tuple[Instance, UpstreamResponse]:
        """Send the request to an instance; return once its status and headers have arrived.
        An idempotent request that failed before any response byte goes to another instance."""
        upstream = outgoing.context.upstream or route.upstream.name
        balancer = self.balancers[upstream]
        attempts = 1 + self.retries if outgoing.method in _IDEMPOTENT else 1
        failed: Instance | None = None
        try:
            for attempt in range(attempts):
                instance = balancer.choose(avoid=failed)
                try:
                    return instance, await self._send(route, balancer, instance, outgoing)
                except UpstreamConnectError as exc:
                    failed = instance
                    if attempt + 1 == attempts:
                        logger.warning("upstream %s failed: %s", upstream, exc)
                        raise _bad_gateway() from None
                    logger.info("retrying %s %s after: %s", outgoing.method, upstream, exc)
                    self.metrics.upstream_retries.labels(upstream).inc()
        except UpstreamBusy:
            self.metrics.upstream_failures.labels(upstream, "busy").inc()
            raise GatewayError(
                503,
                f"The {upstream} service is busy; try again shortly.",
                code="upstream_busy",
                headers={"Retry-After": "1"},
            ) from None
        except BreakerOpen as exc:
            self.metrics.breaker_rejections.labels(upstream).inc()
            raise GatewayError(
                503,
                f"The {upstream} service is unavailable; try again later.",
                code="service_unavailable",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        except UpstreamTimeout as exc:
            logger.warning("upstream %s timed out: %s", upstream, exc)
            raise GatewayError(
                504, "The upstream service did not respond in time.", code="upstream_timeout"
            ) from None
        except UpstreamError as exc:
            logger.warning("upstream %s failed: %s", upstream, exc)
            raise _bad_gateway() from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, route: Route, balancer: Balancer, instance: Instance, outgoing: Outgoing
    ) -> UpstreamResponse:
        """One try on one instance, with its accounting: requests in flight, breaker, metrics."""
        upstream = balancer.name
        pool = instance.stream_pool if outgoing.stream else instance.pool
        request_head = _upstream_head(outgoing, instance.target)
        instance.outstanding += 1
        if instance.requests is not None:
            instance.requests.inc()
        started = time.perf_counter()
        try:
            response = await pool.request(
                request_head,
                outgoing.body,
                is_head=outgoing.method == "HEAD",
                connect_timeout=route.timeout,
                read_timeout=route.timeout,
            )
        except UpstreamBusy:
            instance.outstanding -= 1
            raise
        except UpstreamError as exc:
            instance.outstanding -= 1
            self._failed(upstream, balancer, instance, exc)
            raise
        except BaseException:
            instance.outstanding -= 1
            raise
        instance.breaker.success()
        self.metrics.observe_upstream(upstream, time.perf_counter() - started)
        return response

    def _failed(
        self, upstream: str, balancer: Balancer, instance: Instance, exc: UpstreamError
    ) -> None:
        """A transport failure: the breaker counts it; with several instances a refused
        connection ejects its instance at once."""
        kind = _failure_kind(exc)
        self.metrics.upstream_failures.labels(upstream, kind).inc()
        if instance.failures is not None:
            instance.failures.inc()
        if kind == "connect" and balancer.probed:
            instance.eject()
        else:
            instance.breaker.failure()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What is sent upstream for one request, whichever instance it goes to."""

    context: RequestContext
    head: RequestHead
    scope: Scope
    raw_path: str
    body: bytes
    stream: bool
    header_lines: bytes  # the same for every instance a retry may try

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method


def _failure_kind(exc: UpstreamError) -> str:
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    return "connect" if isinstance(exc, UpstreamConnectError) else "protocol"


def _upstream_head(outgoing: Outgoing, target: Target) -> bytes:
    """The request line and headers sent to one instance: only the line and ``host`` depend
    on the instance; the rest is made once per request (:attr:`Outgoing.header_lines`)."""
    query: bytes = outgoing.scope["query_string"]
    path = target.base_path + outgoing.raw_path.encode("latin-1")
    request_target = path + b"?" + query if query else path
    if len(request_target) > MAX_TARGET_BYTES:
        raise GatewayError(
            414, f"The request URI is longer than the {MAX_TARGET_BYTES} bytes allowed."
        )
    return b"".join(
        (
            outgoing.method.encode("ascii"),
            b" ",
            request_target,
            b" HTTP/1.1\r\nhost: ",
            target.host_header,
            outgoing.header_lines,
        )
    )


def _header_lines(context: RequestContext, head: RequestHead) -> bytes:
    """The client's end-to-end headers, then the gateway's forwarding, tracing and identity
    headers (never the client's own), each as ``\r\nname: value``."""
    parts: list[bytes] = []
    for name, value in head.forward:
        parts += (b"\r\n", name, b": ", value)
    if head.host is not None:
        parts += (b"\r\nx-forwarded-host: ", head.host)
    parts += (b"\r\nx-forwarded-proto: ", context.scheme.encode("latin-1"))
    if context.client:
        parts += (b"\r\nx-forwarded-for: ", context.client.encode("latin-1"))
    parts += (b"\r\nx-request-id: ", context.request_id.encode("latin-1"))
    trace = context.trace
    parts += (b"\r\ntraceparent: ", trace.traceparent.encode("latin-1"))
    if trace.tracestate is not None:
        parts += (b"\r\ntracestate: ", trace.tracestate)
    for name, value in _identity_headers(context):
        parts += (b"\r\n", name, b": ", value)
    return b"".join(parts)


def _identity_headers(context: RequestContext) -> list[tuple[bytes, bytes]]:
    """X-User-Id and X-User-Roles of a verified caller (informational: services verify the
    token themselves)."""
    principal = context.principal
    if principal is None:
        return []
    user_id = principal.user_id.encode()
    roles = ",".join(principal.roles).encode()
    if _CR_LF.search(user_id + roles):
        return []
    return [(b"x-user-id", user_id), (b"x-user-roles", roles)]


def _bad_gateway() -> GatewayError:
    return GatewayError(502, "The upstream service is unavailable.", code="bad_gateway")


def request_target(scope: Scope) -> tuple[str, str]:
    """The request's ``(raw_path, path)``: percent-encoded as received, and decoded.

    Routing uses the decoded path (what upstream frameworks route on too) while the raw one
    is forwarded. An absolute-form target ("GET http://host/x") is reduced to its path: its
    authority never selects an upstream. Dot segments are refused rather than normalised,
    so the gateway and the upstream can never disagree about which route a path is under.
    """
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        path: str = scope["path"]
        raw_path = path
    elif raw.startswith(b"/"):
        path = scope["path"]
        raw_path = raw.decode("latin-1")
    else:
        match = _ABSOLUTE_FORM.match(raw)
        raw = raw[match.end() :] if match else b""
        if not raw.startswith(b"/"):
            raise GatewayError(400, "Unsupported request target.", headers=_CLOSE)
        raw_path = raw.decode("latin-1")
        path = unquote(raw_path)
    if "." in path and any(segment in (".", "..") for segment in _SEGMENT_SEPARATORS.split(path)):
        raise GatewayError(400, "Paths with '.' or '..' segments are not accepted.")
    return raw_path, path


async def read_body(head: RequestHead, receive: Receive, limit: int) -> bytes:
    """Read the whole request body, refusing more than ``limit`` bytes with 413.

    A declared Content-Length is checked before reading anything; a chunked body is
    counted as it arrives.
    """
    content_length: int | None = None
    if head.content_length is not None:
        if not head.content_length.isdigit():
            raise GatewayError(400, "Invalid Content-Length header.", headers=_CLOSE)
        content_length = int(head.content_length)
    if head.chunked and content_length is not None:
        # Request smuggling vector (RFC 9112 6.3): never guess which framing is meant.
        raise GatewayError(
            400, "Content-Length and Transfer-Encoding must not both be sent.", headers=_CLOSE
        )
    if content_length is not None and content_length > limit:
        raise GatewayError(413, _too_large(limit), headers=_CLOSE)
    if not head.chunked and not content_length:
        return b""

    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise GatewayError(413, _too_large(limit), headers=_CLOSE)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _relay(
    response: UpstreamResponse,
    headers: list[tuple[bytes, bytes]],
    receive: Receive,
    send: Send,
    gzipped: bool = False,
) -> bool:
    """Stream the upstream response to the client; True if it was relayed completely.
    ``gzipped``: JSON worth it that the client takes gzipped (:mod:`gateway.compression`)."""
    if gzipped:
        body = gzip(await _read_all(response))
        headers = gzipped_headers(headers, len(body))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.complete:
        # The whole body is already buffered (most API responses): nothing to wait for.
        return await _pump(response, send)

    # The body is still arriving (possibly an endless event stream): stop reading it as
    # soon as the client disconnects instead of at the upstream's next chunk.
    completed = False
    async with anyio.create_task_group() as task_group:

        async def cancel_on_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            task_group.cancel_scope.cancel()

        task_group.start_soon(cancel_on_disconnect)
        completed = await _pump(response, send)
        task_group.cancel_scope.cancel()
    return completed


async def _read_all(response: UpstreamResponse) -> bytes:
    """The whole body (its length is known and bounded); a 502 if the upstream breaks off."""
    chunks = []
    try:
        while not response.exhausted:
            chunks.append(await response.read_chunk())
    except UpstreamError as exc:
        logger.warning("upstream response broken off mid-body: %s", exc)
        raise _bad_gateway() from exc
    return b"".join(chunks)


async def _pump(response: UpstreamResponse, send: Send) -> bool:
    """Forward body chunks as they arrive. False if the upstream broke off mid-body."""
    try:
        while True:
            chunk = await response.read_chunk()
            done = response.exhausted
            await send({"type": "http.response.body", "body": chunk, "more_body": not done})
            if done:
                return True
    except UpstreamError as exc:
        # Headers are already sent, so no error response is possible: returning without
        # finishing the body makes the server abort the connection, which tells the
        # client the response is incomplete.
        logger.warning("upstream response broken off mid-body: %s", exc)
        return False


def _too_large(limit: int) -> str:
    return f"Request body is larger than the {limit} bytes allowed."


def _refused(status: int, code: str, message: str, bearer_error: str) -> GatewayError:
    """A refusal with the bearer challenge (RFC 6750) that says why."""
    return GatewayError(
        status, message, code=code, headers={"WWW-Authenticate": challenge(bearer_error)}
    )
