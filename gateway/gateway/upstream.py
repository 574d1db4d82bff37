"""The HTTP/1.1 client of the proxy path: pooled keep-alive connections, httptools parsing.

Why not aiohttp here: profiled under load on the benchmark machine, aiohttp's client spent
about 100 microseconds of CPU per proxied request (building request objects, copying
headers into multidicts twice, timer contexts, tracing hooks), more than everything else the
gateway does together. A proxy needs far less: bytes in, bytes out. This module writes the
request head and body in one ``transport.write`` and parses the response with
``httptools`` (llhttp, the parser uvicorn uses), handing body chunks over as they arrive,
with flow control. The gateway's own GETs (health probes, JWKS, OpenAPI documents) use it too,
through client.py, in pools of their own.

Semantics, as nginx's proxy module:
- waiting for a free connection of a full pool is bounded by ``wait_seconds``:
  :class:`UpstreamBusy` (the proxy answers 503 at once, never a long hang);
  ``connect_timeout`` bounds connecting, ``read_timeout`` each wait for upstream bytes (the
  response head, then every silence between body chunks): :class:`UpstreamTimeout`;
- a connection is reused only after a response read to its framed end (Content-Length or
  chunked; a close-delimited body never) whose upstream did not ask to close, and is dropped
  after ``idle_seconds`` unused (before the upstream's own keep-alive timeout: gunicorn keeps
  2 s);
- an upstream may still close a pooled connection just as a request is written to it (uvicorn
  closes after an application error, even when its 500 said keep-alive). A request that fails
  on a reused connection before any response byte is sent again, once, on a fresh connection:
  nothing was processed, so this is safe for any method. A connection the upstream
  half-closed (EOF) is never handed out again, nor one that received bytes while idle (they
  would become the next request's response);
- :class:`UpstreamConnectError` means nothing was received (safe to retry idempotent
  requests); :class:`UpstreamProtocolError` that the upstream broke the protocol or hung up
  mid-response.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from dataclasses import KW_ONLY, dataclass, field

import httptools

# Response bodies buffered from the upstream beyond this pause reading from it until the
# client has taken some (SSE and large downloads stream without piling up in memory).
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024


class UpstreamError(Exception):
    """The upstream could not be used for this request."""


class UpstreamConnectError(UpstreamError):
    """No response byte was received: connecting failed, or the connection was lost first."""


class UpstreamProtocolError(UpstreamError):
    """An invalid response, or the upstream hung up in the middle of one."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """Connecting or waiting for upstream bytes took longer than allowed."""


class UpstreamBusy(Exception):
    """Every connection the pool may open is in use, and none came free in time. Not an
    upstream failure (the upstream is merely busy with others): no breaker counts it."""


class UpstreamResponse:
    """Status, raw headers and a body read chunk by chunk with :meth:`read_chunk`."""

    __slots__ = ("_connection", "headers", "status")

    def __init__(self, connection: _Connection, status: int, headers: list[tuple[bytes, bytes]]):
        self._connection = connection
        self.status = status
        self.headers = headers

    @property
    def complete(self) -> bool:
        """The whole body has arrived (it may still be waiting in the buffer)."""
        return self._connection.message_complete

    @property
    def exhausted(self) -> bool:
        """The whole body has arrived and been read."""
        connection = self._connection
        return connection.message_complete and not connection.body

    async def read_chunk(self) -> bytes:
        """The next piece of the body; ``b""`` once it is complete."""
        return await self._connection.read_chunk()

    def release(self) -> None:
        """Done with a fully read response: the connection goes back to the pool."""
        self._connection.release()

    def close(self) -> None:
        """Done early (client left, error): the connection is closed, never reused."""
        self._connection.abort()


class _Connection(asyncio.Protocol):
    """One upstream connection and the exchange in flight on it (one at a time)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.forgotten = False  # no longer counted as open by the pool
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.exchanging = False  # a request was written and its response is not yet done with
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_waiter: asyncio.Future[None] | None = None
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.body_waiter: asyncio.Future[None] | None = None
        self.headers_complete = False
        self.message_complete = False
        self.error: UpstreamError | None = None
        self.is_head = False
        self.delimited = False  # the body's end is marked (Content-Length or chunked)
        self.keep_alive = False
        self.received_any = False
        self.paused = False
        self.last_read = 0.0
        self.read_timeout = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.exchanging:
            # Bytes while idle in the pool, answering no request: the next request would get
            # them as its response. The upstream is out of step with us; never reuse this.
            self.abort()
            return
        self.received_any = True
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamProtocolError(f"invalid response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.message_complete:
            return
        if self.headers_complete and not self.delimited and not self.is_head:
            # A body without length ends when the connection does (RFC 9112 6.3 rule 8).
            self.on_message_complete()
            return
        if not self.received_any:
            self._fail(UpstreamConnectError(f"connection closed before any response ({exc!r})"))
        else:
            self._fail(UpstreamProtocolError("upstream closed the connection mid-response"))

    def eof_received(self) -> None:
        """The upstream closed its side: hand this connection out no more (connection_lost,
        which ends a close-delimited body, follows on a later loop iteration)."""
        self.closed = True

    def pause_writing(self) -> None:  # request bodies are written at once, nothing to pause
        pass

    def resume_writing(self) -> None:
        pass

    # ------------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        if self.message_complete:
            # Bytes after a complete response, with no request asked: never reuse this one.
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self.delimited = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim response (103 Early Hints...): the real one follows.
            self.headers = []
            self.delimited = False
            return
        self.status = status
        self.headers_complete = True
        # Asked now: llhttp forgets the message's flags once it is complete.
        self.keep_alive = self.parser.should_keep_alive()
        if status in (204, 304):
            self.delimited = True
        if self.is_head:
            # The parser cannot know a HEAD response has no body; end it here and never
            # reuse the connection (its parser state is no longer trustworthy).
            self.message_complete = True
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        _wake(self.head_waiter)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        _wake(self.body_waiter)

    def on_message_complete(self) -> None:
        if self.message_complete or not self.headers_complete:
            return  # the end of an interim (1xx) response: the real one follows
        self.message_complete = True
        self._cancel_timer()
        _wake(self.body_waiter)
        _wake(self.head_waiter)

    # ------------------------------------------------------------ exchange

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        self._cancel_timer()
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        _wake(self.head_waiter)
        _wake(self.body_waiter)

    async def exchange(
        self, request: bytes, *, is_head: bool, read_timeout: float
    ) -> UpstreamResponse:
        self.exchanging = True
        self.is_head = is_head
        self.read_timeout = read_timeout
        self.last_read = self.loop.time()
        self.timer = self.loop.call_at(self.last_read + read_timeout, self._check_timeout)
        assert self.transport is not None
        self.transport.write(request)
        if not self.headers_complete and self.error is None:
            self.head_waiter = self.loop.create_future()
            try:
                await self.head_waiter
            finally:
                self.head_waiter = None
        if self.error is not None:
            raise self.error
        return UpstreamResponse(self, self.status, self.headers)

    def _check_timeout(self) -> None:
        self.timer = None
        if self.message_complete or self.error is not None:
            return
        remaining = self.last_read + self.read_timeout - self.loop.time()
        if remaining > 0 or self.paused:
            # Data came since (or we stopped reading on purpose): check again later.
            self.timer = self.loop.call_at(
                self.loop.time() + max(remaining, 0.05), self._check_timeout
            )
            return
        phase = "response body" if self.headers_complete else "response"
        self._fail(UpstreamTimeout(f"no {phase} bytes for {self.read_timeout:g}s"))

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    async def read_chunk(self) -> bytes:
        while not self.body:
            if self.message_complete:
                return b""
            if self.error is not None:
                raise self.error
            self.body_waiter = self.loop.create_future()
            try:
                await self.body_waiter
            finally:
                self.body_waiter = None
        chunk = self.body.popleft() if len(self.body) == 1 else self._take_all()
        self.buffered -= len(chunk)
        if self.paused and self.buffered < _LOW_WATER and self.transport is not None:
            self.paused = False
            self.last_read = self.loop.time()
            self.transport.resume_reading()
        return chunk

    def _take_all(self) -> bytes:
        chunk = b"".join(self.body)
        self.body.clear()
        return chunk

    def release(self) -> None:
        if (
            self.closed
            or not self.message_complete
            or self.body
            or self.error is not None
            or not self.keep_alive
        ):
            self.abort()
            return
        self._reset()
        self.pool.put_back(self)

    def abort(self) -> None:
        self._cancel_timer()
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.pool.forget(self)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


@dataclass(eq=False)
class ConnectionPool:
    """Keep-alive connections to one upstream origin, at most ``limit`` open (0: no limit)."""

    scheme: str
    host: str
    port: int
    _: KW_ONLY
    limit: int = 100
    idle_seconds: float = 1.5
    wait_seconds: float = 0.5
    host_header: bytes = field(init=False)
    _ssl: ssl.SSLContext | None = field(init=False)
    _idle: list[_Connection] = field(init=False, default_factory=list)
    _open: int = field(init=False, default=0)
    _waiters: collections.deque[asyncio.Future[None]] = field(
        init=False, default_factory=collections.deque
    )
    _loop: asyncio.AbstractEventLoop | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        default_port = 443 if self.scheme == "https" else 80
        host, port = self.host, self.port
        self.host_header = (host if port == default_port else f"{host}:{port}").encode("idna")
        self._ssl = ssl.create_default_context() if self.scheme == "https" else None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def request(
        self,
        head: bytes,
        body: bytes,
        *,
        is_head: bool,
        connect_timeout: float,
        read_timeout: float,
    ) -> UpstreamResponse:
        """Send one request (``head`` = request line and headers, without the final CRLF)."""
        data = _request_bytes(head, body, is_head)
        connection, reused = await self._acquire(connect_timeout)
        try:
            return await connection.exchange(data, is_head=is_head, read_timeout=read_timeout)
        except UpstreamConnectError:
            connection.abort()
            if not reused:
                raise
        except BaseException:
            connection.abort()
            raise
        # The upstream closed the pooled connection before reading this request: once more,
        # on a connection of its own.
        connection, _ = await self._acquire(connect_timeout, fresh=True)
        try:
            return await connection.exchange(data, is_head=is_head, read_timeout=read_timeout)
        except BaseException:
            connection.abort()
            raise

    async def _acquire(
        self, connect_timeout: float, *, fresh: bool = False
    ) -> tuple[_Connection, bool]:
        """A connection and whether it was reused: an idle one unless ``fresh``, else a new one
        once the pool has room (waiting at most ``wait_seconds`` for it)."""
        deadline = self.loop.time() + self.wait_seconds
        while True:
            if not fresh and (idle := self._take_idle()) is not None:
                return idle, True
            if fresh and self._idle and self.limit and self._open >= self.limit:
                self._idle[0].abort()  # the oldest idle connection makes room for a fresh one
            if not self.limit or self._open < self.limit:
                return await self._connect(connect_timeout), False
            await self._wait_for_room(deadline)

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < self.idle_seconds:
                return connection
            connection.abort()
        return None

    async def _wait_for_room(self, deadline: float) -> None:
        waiter = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except TimeoutError:
            raise UpstreamBusy(
                f"all {self.limit} connections busy for {self.wait_seconds:g}s"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _connect(self, connect_timeout: float) -> _Connection:
        self._open += 1
        connection = _Connection(self)
        try:
            async with asyncio.timeout(connect_timeout):
                await self.loop.create_connection(
                    lambda: connection,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )
        except TimeoutError:
            connection.abort()
            raise UpstreamTimeout(f"connecting took longer than {connect_timeout:g}s") from None
        except OSError as exc:
            connection.abort()
            raise UpstreamConnectError(f"cannot connect: {exc}") from None
        except BaseException:
            connection.abort()
            raise
        return connection

    def put_back(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        self._wake_one()

    def forget(self, connection: _Connection) -> None:
        """A connection closed: it no longer counts against the limit."""
        if connection.forgotten:
            return
        connection.forgotten = True
        self._open -= 1
        if connection in self._idle:
            self._idle.remove(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        for connection in list(self._idle):
            connection.abort()
        self._idle.clear()


def _request_bytes(head: bytes, body: bytes, is_head: bool) -> bytes:
    if body:
        return b"%s\r\ncontent-length: %d\r\n\r\n%s" % (head, len(body), body)
    if is_head:
        return head + b"\r\n\r\n"
    return head + (b"\r\ncontent-length: 0\r\n\r\n" if _sends_length(head) else b"\r\n\r\n")


def _sends_length(head: bytes) -> bool:
    """Methods whose requests carry a body by meaning get ``Content-Length: 0`` when empty
    (Django and many servers expect it on POST/PUT/PATCH)."""
    return head.startswith((b"POST ", b"PUT ", b"PATCH "))


@dataclass(eq=False)
class UpstreamPools:
    """Connection pools per upstream origin: one for request/response traffic and one for
    streams (SSE), so long-lived streams can never take the connections other requests need."""

    limit: int
    idle_seconds: float = 1.5
    _: KW_ONLY
    wait_seconds: float = 0.5
    stream_limit: int = 500
    _pools: dict[tuple[str, str, int, bool], ConnectionPool] = field(
        init=False, default_factory=dict
    )

    def pool(self, scheme: str, host: str, port: int, *, stream: bool = False) -> ConnectionPool:
        key = (scheme, host, port, stream)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = ConnectionPool(
                scheme,
                host,
                port,
                limit=self.stream_limit if stream else self.limit,
                idle_seconds=self.idle_seconds,
                wait_seconds=self.wait_seconds,
            )
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
