"""Client connections (gateway/server.py): header limits, lingering close, slow and idle clients.

Real sockets against a real gateway; every wait is for something observable (an answer, the
server's EOF) with a deadline, never a sleep standing in for an assertion.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

HEADER_TIMEOUT = 1.5
IDLE_CAP = 3


@pytest.fixture(scope="module")
def strict_gateway(start_gateway: Callable[..., Any], test_gateway_env: dict[str, str]) -> Any:
    """A short header timeout and a small idle cap; keep-alive longer than both, so that
    uvicorn's own keep-alive timeout cannot be what closes a connection here."""
    env = {
        **test_gateway_env,
        "GATEWAY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "GATEWAY_MAX_IDLE_CONNECTIONS_PER_CLIENT": str(IDLE_CAP),
    }
    return start_gateway(env, ["--timeout-keep-alive", "30"])


@pytest.fixture(scope="module")
def proxied_gateway(start_gateway: Callable[..., Any], test_gateway_env: dict[str, str]) -> Any:
    """The same idle cap, with the loopback peers as trusted proxies (a load balancer)."""
    env = {
        **test_gateway_env,
        "GATEWAY_MAX_IDLE_CONNECTIONS_PER_CLIENT": str(IDLE_CAP),
        "TRUSTED_PROXIES": "127.0.0.0/8",
    }
    return start_gateway(env, ["--timeout-keep-alive", "30"])


# --------------------------------------------------------------------------- helpers


def _assert_json_error(reply, status: int, code: str) -> None:
    assert reply.status == status, (reply.status, reply.body[:200])
    assert reply.header("content-type") == "application/json"
    assert reply.header("connection") == "close"
    error = reply.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    assert error["message"]


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closes ``sock`` (EOF or reset) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return True
            except ConnectionResetError:
                return True
    return False


def _keep_alive(port: int, source: str) -> http.client.HTTPConnection:
    """A keep-alive connection from ``source`` that has been answered once (so is idle)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    _get(conn)
    return conn


def _get(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", f"/api/idle/{uuid.uuid4().hex}")
    response = conn.getresponse()
    response.read()
    assert response.status == 200


@contextlib.contextmanager
def _connections(port: int, source: str, count: int) -> Iterator[list[http.client.HTTPConnection]]:
    conns = [_keep_alive(port, source) for _ in range(count)]
    try:
        yield conns
    finally:
        for conn in conns:
            conn.close()


# --------------------------------------------------------------------------- header limits


def test_a_request_with_50_headers_of_100_bytes_gets_through(gateway, echo):
    path = f"/api/headers/{uuid.uuid4().hex}"
    headers = [(f"X-Many-{i:02d}", "v" * 90) for i in range(50)]
    reply = gateway.request("GET", path, headers)
    assert reply.status == 200
    received = dict(reply.json()["headers"])
    assert all(received[name.lower()] == value for name, value in headers)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Big", "a" * 1024 * 1024)], id="one-1MB-header"),
        pytest.param([(f"X-H{i}", "v") for i in range(1000)], id="1000-small-headers"),
        pytest.param([("X-Big", "a" * 17 * 1024)], id="one-17KiB-header"),
        pytest.param([(f"X-Part-{i}", "b" * 10 * 1024) for i in range(7)], id="70KiB-head"),
    ],
)
def test_a_head_over_a_limit_is_a_json_431_before_the_app(gateway, echo, headers):
    # http.client writes the whole head before it reads: the answer must still reach it.
    path = f"/api/big-head/{uuid.uuid4().hex}"
    reply = gateway.request("GET", path, headers)
    _assert_json_error(reply, 431, "request_header_fields_too_large")
    assert reply.header("x-content-type-options") == "nosniff"
    assert path not in echo.paths_received()


def test_a_request_target_over_the_line_limit_is_a_json_414_before_the_app(gateway, echo):
    path = f"/api/long-target/{uuid.uuid4().hex}"
    reply = gateway.request("GET", f"{path}?q=" + "a" * 17 * 1024)
    _assert_json_error(reply, 414, "uri_too_long")
    assert path not in echo.paths_received()


def test_the_connection_is_closed_after_a_431(gateway):
    head = b"GET /api/x HTTP/1.1\r\nHost: gw\r\n" + b"X-H: v\r\n" * 101 + b"\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):  # a timeout here would mean "never closed"
            received += chunk
    assert received.startswith(b"HTTP/1.1 431 ")
    assert received.count(b"HTTP/1.1") == 1


# --------------------------------------------------------------------------- lingering close


def _chunks(size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, size, piece):
        yield b"x" * min(piece, size - start)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_client_writing_a_5MB_body_before_reading_gets_the_413(gateway, echo, framing):
    path = f"/api/upload/{uuid.uuid4().hex}"
    size = 5 * 1024 * 1024
    assert size > int(gateway.env["GATEWAY_MAX_BODY_BYTES"])
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=20)
    try:
        if framing == "chunked":
            conn.request("POST", path, body=_chunks(size), encode_chunked=True)
        else:
            conn.request("POST", path, body=b"x" * size)  # the whole body, then the read
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 413
    assert response.getheader("connection") == "close"
    assert response.getheader("content-type") == "application/json"
    assert b'"payload_too_large"' in body
    assert path not in echo.paths_received()


# --------------------------------------------------------------------------- slow clients


def _trickle_until_closed(sock: socket.socket, data: bytes, interval: float, limit: float) -> float:
    """Send ``data`` a byte every ``interval`` seconds until the server closes the connection;
    the seconds it took (fails after ``limit``)."""
    started = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        if _closed_within(sock, interval):
            return time.monotonic() - started
        assert time.monotonic() - started < limit, "the server never closed the slow connection"
    raise AssertionError("ran out of bytes to trickle")


def test_a_slowloris_head_is_cut_off_at_the_header_timeout(strict_gateway, echo):
    path = f"/api/slow/{uuid.uuid4().hex}"
    with socket.create_connection(("127.0.0.1", strict_gateway.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: gw\r\n".encode())
        took = _trickle_until_closed(sock, b"X-Slow: " + b"a" * 100, 0.5, HEADER_TIMEOUT + 3)
    assert HEADER_TIMEOUT - 0.6 <= took <= HEADER_TIMEOUT + 1.5
    assert path not in echo.paths_received()


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(strict_gateway):
    with socket.create_connection(("127.0.0.1", strict_gateway.port), timeout=5) as sock:
        started = time.monotonic()
        assert _closed_within(sock, HEADER_TIMEOUT + 3)
        assert time.monotonic() - started >= HEADER_TIMEOUT - 0.2


def test_the_header_timeout_restarts_after_each_response(strict_gateway):
    with socket.create_connection(("127.0.0.1", strict_gateway.port), timeout=5) as sock:
        sock.sendall(b"GET /api/first HTTP/1.1\r\nHost: gw\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        assert response.status == 200
        assert not response.will_close
        # The next head trickles in: cut off, though uvicorn's keep-alive timer is long.
        took = _trickle_until_closed(sock, b"GET /api/second HTTP/1.1\r\n", 0.5, HEADER_TIMEOUT + 3)
    assert took <= HEADER_TIMEOUT + 1.5


def test_a_head_in_pieces_within_the_timeout_is_served(strict_gateway):
    with socket.create_connection(("127.0.0.1", strict_gateway.port), timeout=5) as sock:
        for piece in (b"GET /api/pieces HTTP/1.1\r\n", b"Host: gw\r\n", b"X-A: 1\r\n"):
            sock.sendall(piece)
            assert not _closed_within(sock, 0.3)
        sock.sendall(b"\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200


def test_idle_connections_beyond_the_cap_are_closed_oldest_first(strict_gateway):
    source = "127.0.0.21"
    with _connections(strict_gateway.port, source, IDLE_CAP + 2) as conns:
        oldest, newest = conns[:2], conns[2:]
        for conn in oldest:
            assert conn.sock is not None
            assert _closed_within(conn.sock, 3), "an idle connection over the cap stayed open"
        for conn in newest:
            _get(conn)  # still open: served on the same connection
            assert conn.sock is not None


def test_the_idle_cap_counts_each_client_address_apart(strict_gateway):
    port = strict_gateway.port
    with (
        _connections(port, "127.0.0.22", IDLE_CAP) as first,
        _connections(port, "127.0.0.23", IDLE_CAP) as second,
    ):
        # A request on a connection makes it busy, then idle again: still within the cap.
        for conn in first + second:
            _get(conn)
        with _connections(port, "127.0.0.22", 1):
            assert first[0].sock is not None
            assert _closed_within(first[0].sock, 3)
        for conn in first[1:] + second:
            _get(conn)


def test_trusted_proxies_are_exempt_from_the_idle_cap(proxied_gateway):
    with _connections(proxied_gateway.port, "127.0.0.24", IDLE_CAP + 2) as conns:
        for conn in conns:
            _get(conn)
