"""Proxying WebSockets: routes marked ``websocket = true`` (``/ws/...`` -> mainapp's Channels).

A browser cannot set ``Authorization`` on a WebSocket, so the client offers the subprotocols
``msh.bearer`` and its access token. The edge verifies that token like any other (signature,
expiry, revocation), refuses the handshake with the platform's JSON error (401, 403, 404, 429,
503: the ASGI "websocket.http.response" extension), and only then connects upstream, offering
the same two subprotocols (mainapp verifies the token again) and selecting ``msh.bearer`` towards
the client, never echoing the token.

Open, messages flow both ways unchanged; either side's close code is passed to the other. The
socket is closed when nothing moved for ``WS_IDLE_SECONDS`` (1001), or when a message is larger
than ``WS_MAX_MESSAGE_BYTES`` (1009). uvicorn pings the client (``--ws-ping-interval``), and
mainapp's uvicorn pings the gateway. A user may hold ``WS_MAX_SOCKETS_PER_USER`` sockets in this
process, and the process ``WS_MAX_SOCKETS``; handshakes count against the user's rate limit.

The upstream client is ``websockets``: measured against aiohttp's at 1,000 sockets, the same
memory per socket, without aiohttp's 8 MiB at rest (README, "Real-time notifications").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from gateway.auth import AuthError, EdgeAuthenticator
from gateway.balancer import Balancer
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.routing import Route, RouteTable
from msh_auth import Principal, challenge
from msh_common.errors import error_body

logger = logging.getLogger("gateway.websocket")

SUBPROTOCOL = "msh.bearer"
GOING_AWAY, TOO_BIG, INTERNAL, TRY_AGAIN_LATER = 1001, 1009, 1011, 1013


class Refusal(Exception):
    """The handshake is refused with an HTTP status and the platform's error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class WebSocketLimits:
    per_user: int = 5
    total: int = 10_000
    idle_seconds: float = 300.0
    max_message_bytes: int = 64 * 1024


@dataclass(eq=False)
class WebSocketProxy:
    """The gateway's WebSocket side: handshake checks, the upstream socket, the pumps."""

    routes: RouteTable
    balancers: dict[str, Balancer]
    auth: EdgeAuthenticator
    limiter: RateLimiter
    metrics: Metrics
    limits: WebSocketLimits
    per_user: Counter[str] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        self._to_upstream = self.metrics.websocket_messages.labels("to_upstream")
        self._to_client = self.metrics.websocket_messages.labels("to_client")

    @property
    def open(self) -> int:
        return sum(self.per_user.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            route, token, principal = await self._admit(scope)
        except Refusal as refusal:
            self.metrics.websocket_refusals.labels(refusal.code).inc()
            await _refuse(scope, send, refusal)
            return
        user = principal.user_id
        self.per_user[user] += 1
        self.metrics.websockets_open.inc()
        try:
            code = await self._proxy(scope, receive, send, route, token)
        finally:
            self.metrics.websockets_open.dec()
            self.per_user[user] -= 1
            if not self.per_user[user]:
                del self.per_user[user]
        if code is not None:  # the slot is free before the client learns the socket closed
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": _sendable(code)})

    async def _admit(self, scope: Scope) -> tuple[Route, str, Principal]:
        """The route, the token and its principal, or the reason to refuse."""
        route = self.routes.match(scope["path"])
        if route is None or not route.websocket:
            raise Refusal(404, "not_found", f"No WebSocket route for {scope['path']}.")
        offered = scope.get("subprotocols") or []
        if len(offered) != 2 or offered[0] != SUBPROTOCOL:
            raise Refusal(
                401, "not_authenticated", "Offer the subprotocols msh.bearer and an access token."
            )
        try:
            principal = await self.auth.verify(offered[1])
        except AuthError as exc:
            raise Refusal(exc.status, exc.code, exc.message) from None
        if self.per_user[principal.user_id] >= self.limits.per_user:
            raise Refusal(429, "too_many_sockets", "Too many open sockets for this account.")
        if self.open >= self.limits.total:
            raise Refusal(503, "service_unavailable", "No more sockets right now; try later.")
        if not self.limiter.hit("user", f"u:{principal.user_id}").allowed:
            raise Refusal(429, "rate_limited", "Too many requests; slow down.")
        return route, offered[1], principal

    async def _proxy(
        self, scope: Scope, receive: Receive, send: Send, route: Route, token: str
    ) -> int | None:
        """Relay until either side closes; the code to close the client with (None: refused)."""
        try:
            upstream = await self._connect(scope, route, token)
        except Refusal as refusal:
            self.metrics.websocket_refusals.labels(refusal.code).inc()
            await _refuse(scope, send, refusal)
            return None
        await send({"type": "websocket.accept", "subprotocol": SUBPROTOCOL})
        async with upstream:
            code = await self._pump(receive, send, upstream)
        self.metrics.websocket_closes.labels(str(code)).inc()
        return code

    async def _connect(self, scope: Scope, route: Route, token: str) -> ClientConnection:
        balancer = self.balancers[route.upstream.name]
        try:
            instance = balancer.choose()
        except Exception:
            raise Refusal(503, "service_unavailable", "The service is unavailable.") from None
        target = instance.target
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"ws://{target.host}:{target.port}{target.base_path.decode()}{scope['path']}"
        url += f"?{query}" if query else ""
        peer = scope.get("client")
        headers = {"Host": target.host_header.decode("latin-1")}
        if peer:
            headers["X-Forwarded-For"] = peer[0]
        try:
            return await connect(
                url,
                subprotocols=[SUBPROTOCOL, token],  # type: ignore[list-item]  # any string works
                additional_headers=headers,
                max_size=self.limits.max_message_bytes,
                open_timeout=route.timeout,
                ping_interval=None,  # mainapp's server pings; we answer (no task per socket)
                compression=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise Refusal(status, "invalid_token", "Token refused.") from None
            raise Refusal(502, "bad_gateway", "The upstream service refused the socket.") from None
        except (OSError, InvalidHandshake, TimeoutError):
            logger.warning("cannot open the upstream socket of %s", route.upstream.name)
            raise Refusal(502, "bad_gateway", "The upstream service is unavailable.") from None

    async def _pump(self, receive: Receive, send: Send, upstream: ClientConnection) -> int:
        """Both directions until either side closes or the socket idles; the close code.

        Client to upstream runs in this (the connection's) task; upstream to client in one
        more. The end of that one, or the idle timer, stops this one (:class:`Stop`)."""
        stop = Stop(asyncio.current_task())
        idle = IdleTimer(self.limits.idle_seconds, lambda: stop(GOING_AWAY))
        to_client = asyncio.ensure_future(self._upstream_to_client(upstream, send, idle))
        to_client.add_done_callback(stop.after)
        try:
            code = await self._client_to_upstream(receive, upstream, idle)
        except asyncio.CancelledError:
            if stop.code is None:
                raise  # not ours: the server is shutting down
            stop.absorb()
            code = stop.code
        stop.done()
        idle.stop()
        to_client.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await to_client
        with contextlib.suppress(Exception):
            await upstream.close(code=_sendable(code))
        return code

    async def _client_to_upstream(
        self, receive: Receive, upstream: ClientConnection, idle: IdleTimer
    ) -> int:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return int(message.get("code", 1005))
            data: str | bytes | None = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            if len(data) > self.limits.max_message_bytes:
                return TOO_BIG
            idle.touch()
            self._to_upstream.inc()
            try:
                await upstream.send(data)
            except ConnectionClosed as closed:
                return _close_code(closed)

    async def _upstream_to_client(
        self, upstream: ClientConnection, send: Send, idle: IdleTimer
    ) -> int:
        try:
            async for data in upstream:
                idle.touch()
                self._to_client.inc()
                key = "text" if isinstance(data, str) else "bytes"
                await send({"type": "websocket.send", key: data})
        except ConnectionClosed as closed:
            return _close_code(closed)
        return _close_code(None, upstream)


class Stop:
    """Ends a socket's own task from outside, once, with a close code (the other direction
    ended, or the socket idled): a cancellation of that task that it absorbs (``uncancel``)."""

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self._task = task
        self._open = True
        self.code: int | None = None

    def __call__(self, code: int) -> None:
        if self._open and self.code is None and self._task is not None:
            self.code = code
            self._task.cancel()

    def after(self, direction: asyncio.Future[int]) -> None:
        """The upstream-to-client direction ended: its close code (1011 if it failed)."""
        failed = direction.cancelled() or direction.exception() is not None
        self(INTERNAL if failed else direction.result())

    def absorb(self) -> None:
        if self._task is not None:
            self._task.uncancel()

    def done(self) -> None:
        """The task is finishing on its own: no cancellation from now on."""
        self._open = False


class IdleTimer:
    """Calls ``on_idle`` once nothing moved for ``seconds``: one timer handle per socket,
    re-armed only when it fires (a message only records the time)."""

    def __init__(self, seconds: float, on_idle: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._seconds = seconds
        self._on_idle = on_idle
        self._last = self._loop.time()
        self._handle = self._loop.call_later(seconds, self._check)

    def touch(self) -> None:
        self._last = self._loop.time()

    def _check(self) -> None:
        quiet_until = self._last + self._seconds
        if self._loop.time() >= quiet_until:
            self._on_idle()
            return
        self._handle = self._loop.call_at(quiet_until, self._check)

    def stop(self) -> None:
        self._handle.cancel()


def _close_code(closed: ConnectionClosed | None, upstream: ClientConnection | None = None) -> int:
    """The upstream's close code (``async for`` ends quietly on a normal close)."""
    if closed is not None:
        received = closed.rcvd
    else:
        received = upstream.protocol.close_rcvd if upstream is not None else None
    return received.code if received is not None else TRY_AGAIN_LATER


def _sendable(code: int) -> int:
    """A code that may go in a close frame (1005/1006 are only reported, never sent)."""
    return code if code in (1000, 1001, 1008, 1009, 1011, 1013) or 3000 <= code < 5000 else 1000


async def _refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    """An HTTP answer to the handshake in the platform's error shape when the server allows it
    (uvicorn does), else a close before accepting (which the server sends as 403)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = orjson.dumps(error_body(refusal.code, refusal.message))
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    if refusal.status == 401:
        error = None if refusal.code == "not_authenticated" else "invalid_token"
        headers.append((b"www-authenticate", challenge(error).encode("latin-1")))
    await send(
        {"type": "websocket.http.response.start", "status": refusal.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": body})
