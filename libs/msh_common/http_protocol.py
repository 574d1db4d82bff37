"""uvicorn's httptools protocol with connection-level protection, for every HTTP server here.

uvicorn leaves a request head's size unbounded (llhttp buffers a head of any size), never times
out a slow head, and answers a too-large body with a reset. Served with ``uvicorn --http
<module>:<protocol class>``: the gateway (``gateway.server:GatewayHttpProtocol``, its limits
from its settings) and the services behind it (:class:`ServiceHttpProtocol`, limits from
``SERVER_*`` environment variables), since a service does not trust that only the gateway can
reach it. What is added:

- **Header limits**: a head arriving in pieces is counted chunk by chunk (so a huge header is
  cut off early); a complete head is checked once: its field count always, the request target,
  each header line and the whole head when it did not arrive within one small chunk (which
  alone bounds them). Beyond a cap the client gets the platform's JSON error (414 for the
  target, 431 for headers) with ``Connection: close``, before the app sees anything.
- **Malformed requests** get the same JSON error (400) where uvicorn answers in plain text.
- **Lingering close**: a response with ``Connection: close`` sent before the request body has
  arrived (413) would make the kernel answer the rest of the body with a RST, and a client that
  writes its whole body before reading sees "connection reset" instead of the answer. The
  connection is half-closed instead and what still arrives is read and thrown away, until the
  client stops (EOF, or ``LINGER_SILENCE_SECONDS`` of silence) or a time or byte budget is spent,
  as nginx's ``lingering_close`` does.
- **Slow clients**: a request head must be complete within the header timeout from the
  connection's start or the end of the previous response (slowloris). Where an idle cap is set
  (the gateway), one client address holds at most so many idle keep-alive connections (the
  oldest is closed), except exempt peers (a load balancer in front). Services set none: their
  one client, the gateway, keeps a pool of connections to them.

The normal path (a head in one chunk, a client with few connections) only gains a length
comparison and a field count per request: measured with ``make bench-gateway``, the protocol
costs the gateway a few percent of its throughput; timers are armed only for heads that arrive
in pieces, idle connections are tracked only for addresses holding more than the cap.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from asyncio import TimerHandle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httptools
from pydantic import BaseModel, ConfigDict, Field
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from msh_common.errors import error_json

logger = logging.getLogger("msh_common.http_protocol")

# While lingering, a client silent for this long is taken to have stopped sending.
LINGER_SILENCE_SECONDS = 2.0


def _nobody(peer: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """A server's client-connection limits, read once per process."""

    max_line_bytes: int
    max_head_bytes: int
    max_headers: int
    header_timeout: float
    max_idle_per_client: int = 0  # 0: no cap on one address's idle connections
    linger_seconds: float = 30.0
    linger_max_bytes: int = 64 * 1024 * 1024
    exempt_from_idle_cap: Callable[[str], bool] = _nobody

    @property
    def lingers(self) -> bool:
        return self.linger_seconds > 0 and self.linger_max_bytes > 0

    @property
    def caps_idle(self) -> bool:
        return self.max_idle_per_client > 0


class PeerConnections:
    """This process's client connections by peer address, in the order they were opened.

    Only an address holding more connections than the idle cap can have too many idle ones;
    for it, the oldest idle connections beyond the cap are closed. Every other address costs a
    length check per response.
    """

    def __init__(self) -> None:
        self._by_peer: dict[str, dict[GuardedHttpProtocol, None]] = {}

    def opened(self, peer: str, connection: GuardedHttpProtocol) -> None:
        connections = self._by_peer.get(peer)
        if connections is None:
            connections = self._by_peer[peer] = {}
        connections[connection] = None

    def closed(self, peer: str, connection: GuardedHttpProtocol) -> None:
        connections = self._by_peer.get(peer)
        if connections is not None:
            connections.pop(connection, None)
            if not connections:
                del self._by_peer[peer]

    def crowded(self, peer: str, limit: int) -> bool:
        return len(self._by_peer.get(peer, ())) > limit

    def close_idle_beyond(self, peer: str, limit: int) -> None:
        """Close ``peer``'s oldest idle connections until at most ``limit`` stay idle."""
        idle = [c for c in self._by_peer.get(peer, ()) if c.idle]
        for connection in idle[: max(len(idle) - limit, 0)]:
            connection.close_idle()


PEERS = PeerConnections()


class _HeadRefused(Exception):
    """Raised from a parser callback to stop parsing a head over a limit."""


class _CycleTransport:
    """The transport as a request's response cycle sees it: its ``close()`` asks the protocol,
    which may linger instead (uvicorn's cycle closes the transport itself after a response
    with ``Connection: close``). Writes go straight to the real transport."""

    __slots__ = ("_protocol", "_transport", "get_extra_info", "is_closing", "write")

    def __init__(self, protocol: GuardedHttpProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport
        self.write = transport.write
        self.is_closing = transport.is_closing
        self.get_extra_info = transport.get_extra_info

    def close(self) -> None:
        self._protocol.close_after_response()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Linger:
    """Reads and discards what a client still sends after its answer, within a budget."""

    __slots__ = ("_close", "_deadline", "_heard", "_left", "_loop", "_timer")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, close: Callable[[], None], limits: ConnectionLimits
    ) -> None:
        self._loop = loop
        self._close = close
        self._deadline = loop.time() + limits.linger_seconds
        self._left = limits.linger_max_bytes
        self._heard = False
        self._timer = loop.call_later(
            min(LINGER_SILENCE_SECONDS, limits.linger_seconds), self._tick
        )

    def discard(self, size: int) -> None:
        self._heard = True
        self._left -= size
        if self._left <= 0:
            self.stop()

    def _tick(self) -> None:
        now = self._loop.time()
        if not self._heard or now >= self._deadline:
            self.stop()
            return
        self._heard = False
        delay = min(LINGER_SILENCE_SECONDS, self._deadline - now)
        self._timer = self._loop.call_later(delay, self._tick)

    def stop(self) -> None:
        self._timer.cancel()
        self._close()

    def cancel(self) -> None:
        self._timer.cancel()


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus header limits, lingering close and slow/idle client limits.

    A subclass says where its limits come from (:meth:`connection_limits`, called once per
    connection: cache it) and may add headers to its refusals (``refusal_headers``).
    """

    refusal_headers: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def connection_limits(cls) -> ConnectionLimits:
        raise NotImplementedError

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = self.connection_limits()
        self._chunked_head_bytes = 0  # bytes of chunks that lay wholly inside the current head
        self._small_chunk = True  # the chunk being parsed is within one header line's cap
        self._head_spans_chunks = False  # the head being parsed began in an earlier chunk
        self._head_open = False  # a message has begun and its headers are not complete
        self._in_message = False  # a message has begun and is not complete
        self._head_clock = 0.0  # when the wait for the current head began
        self._head_timer: TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None
        self._linger: _Linger | None = None
        self._idle_peer: str | None = None  # the client address, unless exempt from the cap
        self.idle = False  # between requests, waiting for the next one (keep-alive)

    # ------------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._cycle_transport = _CycleTransport(self, transport)
        self._head_clock = self.loop.time()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._on_head_timeout)
        peer = self.client[0] if self.client else None
        limits = self.limits
        if peer is not None and limits.caps_idle and not limits.exempt_from_idle_cap(peer):
            self._idle_peer = peer
            PEERS.opened(peer, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._let_go()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        """The connection is the WebSocket protocol's from now on, and no ``connection_lost``
        will reach this one: it lets go now (else the peer table would keep it for ever)."""
        self._let_go()
        super().handle_websocket_upgrade()

    def _let_go(self) -> None:
        self._cancel_head_timer()
        self.idle = False
        if self._idle_peer is not None:
            PEERS.closed(self._idle_peer, self)
            self._idle_peer = None
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:
            self._linger.discard(len(data))
            return
        self._unset_keepalive_if_required()
        head_was_open = self._head_open
        self._small_chunk = len(data) <= self.limits.max_line_bytes
        self._head_spans_chunks = head_was_open
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            self._parser_failed()
            return
        if self._head_open:
            self._head_in_pieces(len(data), head_was_open)
        elif not self._in_message and self._head_timer is None and self._response_done():
            self._arm_head_timer()  # bytes between requests (CRLFs) restart no clock

    def _parser_failed(self) -> None:
        """A JSON 400 for a malformed request (uvicorn's own is plain text), or the JSON answer
        to a head over a limit."""
        status, message = self._refusal or (400, "The request is not valid HTTP/1.1.")
        self._refuse(status, message)

    def _response_done(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    # ------------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = self._in_message = True
        self._chunked_head_bytes = 0
        self.idle = False

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._cancel_head_timer()
        if self._head_spans_chunks or not self._small_chunk:
            self._check_head_sizes()
        elif len(self.headers) > self.limits.max_headers:
            self._stop_head(431, f"More than {self.limits.max_headers} request headers.")
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not previous:
            self.cycle.transport = self._cycle_transport  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_message = False

    def on_response_complete(self) -> None:
        if self._linger is not None:  # closing: no keep-alive, no next request
            self.server_state.total_requests += 1
            return
        super().on_response_complete()
        if self.transport.is_closing():
            return
        self._head_clock = self.loop.time()
        if self._head_timer is not None:  # the next head began in pieces meanwhile
            self._cancel_head_timer()
            self._arm_head_timer()
        self.idle = self.timeout_keep_alive_task is not None and not self._in_message
        peer, limit = self._idle_peer, self.limits.max_idle_per_client
        if self.idle and peer is not None and PEERS.crowded(peer, limit):
            PEERS.close_idle_beyond(peer, limit)

    # ------------------------------------------------------------------ header limits

    def _check_head_sizes(self) -> None:
        """The request target, each header line, the whole head and the field count."""
        limits = self.limits
        if len(self.url) > limits.max_line_bytes:
            self._stop_head(414, f"The request URI is over {limits.max_line_bytes} bytes.")
        if len(self.headers) > limits.max_headers:
            self._stop_head(431, f"More than {limits.max_headers} request headers.")
        total = len(self.url)
        for name, value in self.headers:
            size = len(name) + len(value) + 4  # ": " and CRLF
            if size > limits.max_line_bytes:
                self._stop_head(431, f"A request header is over {limits.max_line_bytes} bytes.")
            total += size
        if total > limits.max_head_bytes:
            self._stop_head(431, f"The request headers are over {limits.max_head_bytes} bytes.")

    def _stop_head(self, status: int, message: str) -> None:
        """Stop the parser from inside a callback; data_received answers (_parser_failed)."""
        self._refusal = (status, message)
        raise _HeadRefused(message)

    def _head_in_pieces(self, size: int, head_was_open: bool) -> None:
        """A head still incomplete after a chunk: llhttp buffers a header until it ends, so
        chunks wholly inside the head are counted here too; and its timer starts."""
        if head_was_open:
            self._chunked_head_bytes += size
            if self._chunked_head_bytes > self.limits.max_head_bytes:
                limit = self.limits.max_head_bytes
                self._refuse(431, f"The request headers are over {limit} bytes.")
                return
        if self._head_timer is None:
            self._arm_head_timer()

    def _refuse(self, status: int, message: str) -> None:
        """Answer a head over a limit in the platform's JSON shape and close (lingering)."""
        self._cancel_head_timer()
        logger.info("refused a request head: %s", message, extra={"client": self.client})
        if not self._response_done():
            # The previous (pipelined) response is still being written: no room for ours.
            self.transport.close()
            return
        body = error_json(status, message)
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        for name, value in self.refusal_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))
        self._linger_or_close()

    # ------------------------------------------------------------------ lingering close

    def close_after_response(self) -> None:
        """The response cycle wants the connection closed: linger if the request body is
        still arriving (its answer was sent before reading it all, e.g. 413)."""
        cycle = self.cycle
        if cycle is not None and cycle.response_complete and cycle.more_body:
            self._linger_or_close()
        else:
            self.transport.close()

    def _linger_or_close(self) -> None:
        if self._linger is not None or self.transport.is_closing():
            return
        if not self.limits.lingers or not self.transport.can_write_eof():
            self.transport.close()
            return
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        self._linger = _Linger(self.loop, self.transport.close, self.limits)
        self.transport.write_eof()  # the client reads our answer, then EOF, and may stop
        self.flow.resume_reading()

    # ------------------------------------------------------------------ slow clients

    def _arm_head_timer(self) -> None:
        delay = self._head_clock + self.limits.header_timeout - self.loop.time()
        self._head_timer = self.loop.call_later(max(delay, 0.0), self._on_head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _on_head_timeout(self) -> None:
        """No complete head in time: close, unless the wait is not the client's fault."""
        self._head_timer = None
        if self.transport.is_closing() or self._linger is not None:
            return
        if self._in_message and not self._head_open:
            return  # in a request body: not a head wait
        if not self._response_done():
            # The app is still answering the previous request; the clock restarts after it.
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout, self._on_head_timeout
            )
            return
        logger.info("closed a connection: no request head in time", extra={"client": self.client})
        self.transport.close()

    def close_idle(self) -> None:
        """Closed as one of its client address's oldest idle connections (PeerConnections)."""
        self.idle = False
        if not self.transport.is_closing():
            self.transport.close()


class ServiceLimits(BaseModel):
    """A service's limits from its environment (``SERVER_MAX_HEADER_BYTES=...``). The defaults
    are twice the gateway's, so that what the gateway forwards (with the headers it adds) is
    never refused behind it, while a head straight at a service stays bounded."""

    model_config = ConfigDict(frozen=True)

    max_header_line_bytes: int = Field(32 * 1024, ge=1024)
    max_header_bytes: int = Field(128 * 1024, ge=1024)
    max_headers: int = Field(200, ge=8)
    header_timeout_seconds: float = Field(10.0, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServiceLimits:
        prefix = "SERVER_"
        return cls.model_validate(
            {
                name[len(prefix) :].lower(): value
                for name, value in environ.items()
                if name.startswith(prefix) and name[len(prefix) :].lower() in cls.model_fields
            }
        )

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            max_line_bytes=self.max_header_line_bytes,
            max_head_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            header_timeout=self.header_timeout_seconds,
        )


@functools.cache
def service_connection_limits() -> ConnectionLimits:
    """Env-only and fixed for the process: read on the first connection (a bad value fails
    it loudly, as a bad setting does at start-up elsewhere)."""
    return ServiceLimits.from_env().connection_limits()


class ServiceHttpProtocol(GuardedHttpProtocol):
    """A service's protocol (``--http msh_common.http_protocol:ServiceHttpProtocol``)."""

    @classmethod
    def connection_limits(cls) -> ConnectionLimits:
        return service_connection_limits()
