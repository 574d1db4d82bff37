"""A pooled upstream connection is reused only when the response before ended where its framing
said it would, and a request that meets a connection the upstream just closed is sent again on
a fresh one: after any 5xx, however it was framed, the next request (a POST too) succeeds.

Real servers on real sockets: a keep-alive upstream written here that can frame (or break) a
500 every way HTTP/1.1 allows, and a real uvicorn app whose handler raises (uvicorn closes the
connection after Starlette's 500 although that 500 said keep-alive: the reported 502s).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.stub_http import asgi_server

ROUTES = """
[[routes]]
prefix = "/framed/"
upstream = "framed"

[[routes]]
prefix = "/app/"
upstream = "app"
"""

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
ERROR = b"HTTP/1.1 500 Internal Server Error\r\n"
# How each path's 500 is framed (or broken); the bool: the server closes the connection after.
ANSWERS: dict[str, tuple[bytes, bool]] = {
    "/framed/ok": (OK, False),
    "/framed/length": (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror",
        False,
    ),
    "/framed/chunked": (
        b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nerror\r\n0\r\n\r\n",
        False,
    ),
    "/framed/close-delimited": (b"HTTP/1.1 500 Internal Server Error\r\n\r\nerror", True),
    "/framed/truncated": (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nerr",
        True,
    ),
    "/framed/connection-close": (
        ERROR + b"Connection: close\r\nContent-Length: 5\r\n\r\nerror",
        True,
    ),
    # Says keep-alive, then hangs up anyway (what uvicorn does after an application error).
    "/framed/then-hang-up": (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror",
        True,
    ),
    # A keep-alive server closing the connection right after an answer (its idle timeout).
    "/framed/ok-then-hang-up": (OK, True),
}
# Sent on a connection idle in the gateway's pool, answering no request.
UNSOLICITED = b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 5\r\n\r\nstale"


class FramedUpstream(socketserver.ThreadingTCPServer):
    """Keep-alive HTTP/1.1, one request after another on each connection; counts connections.
    A connection marked ``reset_next`` is reset when its next request arrives, unanswered."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FramedHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.connections = 0
        self.reset_next = False
        self.lock = threading.Lock()
        self.send_unsolicited = threading.Event()
        self.unsolicited_dropped = threading.Event()  # the gateway closed that connection


class _FramedHandler(socketserver.BaseRequestHandler):
    server: FramedUpstream

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        buffer = b""
        unsolicited = False
        while True:
            request, buffer = _read_request(self.request, buffer)
            if request is None:
                if unsolicited:
                    self.server.unsolicited_dropped.set()
                return
            path = request.split(b" ", 2)[1].decode("latin-1")
            if self.server.reset_next or path == "/framed/reset-always":
                self.server.reset_next = False
                _reset(self.request)
                return
            answer, close = ANSWERS.get(path, (OK, False))
            self.request.sendall(answer)
            if path == "/framed/arm-reset":
                self.server.reset_next = True
            if path == "/framed/then-unsolicited" and self.server.send_unsolicited.wait(5):
                self.request.sendall(UNSOLICITED)
                unsolicited = True
            if close:
                return


def _read_request(sock: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    """One request (head and Content-Length body) from ``sock``; None once it closes."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head, rest[length:]


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): what the reported 502s saw ("Connection reset by peer")."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("an application error")


async def ok(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def framed() -> Iterator[FramedUpstream]:
    server = FramedUpstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def failing_app() -> Iterator[str]:
    """A Starlette app under a real uvicorn (httptools), as the orders service runs."""
    app = Starlette(
        routes=[Route("/app/boom", boom), Route("/app/ok", ok, methods=["GET", "POST"])]
    )
    with asgi_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def framing_gateway(start_gateway, make_routes, framed, failing_app, new_redis_url):
    return start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(ROUTES),
            "FRAMED_URL": framed.url,
            "APP_URL": failing_app,
            "REDIS_URL": new_redis_url(),
            "UPSTREAM_RETRIES": "0",  # the retry on a fresh connection is not this one
            "BREAKER_FAILURE_THRESHOLD": "1000",
        }
    )


def post(gateway, path: str) -> tuple[int, bytes]:
    reply = gateway.request("POST", path, [("Content-Type", "application/json")], b"{}")
    return reply.status, reply.body


def post_ok(gateway, path: str) -> int:
    status, body = post(gateway, path)
    assert (status, body) == (200, b'{"ok":true}')
    return status


def test_responses_read_to_their_end_keep_their_connection(framing_gateway, framed):
    before = framed.connections
    assert [post_ok(framing_gateway, "/framed/ok") for _ in range(5)] == [200] * 5
    reply = framing_gateway.request("GET", "/framed/length")
    assert (reply.status, reply.body) == (500, b"error")
    assert post_ok(framing_gateway, "/framed/ok") == 200
    assert framed.connections == before + 1  # one pooled connection served them all


@pytest.mark.parametrize(
    "path",
    [
        "/framed/length",
        "/framed/chunked",
        "/framed/close-delimited",
        "/framed/connection-close",
        "/framed/then-hang-up",
        "/framed/ok-then-hang-up",
    ],
)
def test_after_a_500_however_framed_the_next_post_succeeds(framing_gateway, path):
    for _ in range(5):
        reply = framing_gateway.request("GET", path)
        expected = (200, b'{"ok":true}') if path.startswith("/framed/ok") else (500, b"error")
        assert (reply.status, reply.body) == expected
        assert post_ok(framing_gateway, "/framed/ok") == 200


def test_after_a_truncated_500_the_next_post_succeeds(framing_gateway):
    for _ in range(3):
        with pytest.raises(Exception, match=r"IncompleteRead|RemoteDisconnected|reset"):
            framing_gateway.request("GET", "/framed/truncated")
        assert post_ok(framing_gateway, "/framed/ok") == 200


def test_a_post_meeting_a_reset_pooled_connection_is_sent_again_on_a_fresh_one(
    framing_gateway, framed
):
    for _ in range(5):
        assert framing_gateway.request("GET", "/framed/arm-reset").status == 200
        before = framed.connections
        # The pooled connection is reset when this POST arrives on it, before any answer.
        assert post_ok(framing_gateway, "/framed/ok") == 200
        assert framed.connections == before + 1  # answered on a new connection


def test_after_an_application_error_in_uvicorn_other_users_posts_succeed(framing_gateway):
    """Errors and other users' POSTs at once: a connection uvicorn closes after its 500 is
    never the one another request fails on."""
    statuses: list[int] = []

    def other_user() -> None:
        statuses.extend(post_ok(framing_gateway, "/app/ok") for _ in range(40))

    others = [threading.Thread(target=other_user) for _ in range(4)]
    for thread in others:
        thread.start()
    errors = [framing_gateway.request("GET", "/app/boom").status for _ in range(40)]
    for thread in others:
        thread.join()
    assert errors == [500] * 40
    assert statuses == [200] * 160


def test_a_post_failing_on_a_fresh_connection_is_not_sent_again(framing_gateway, framed):
    """The resend is for a pooled connection the upstream had already closed; a fresh
    connection failing is the upstream's failure, and a POST is not idempotent."""
    for _ in range(3):
        before = framed.connections
        status, body = post(framing_gateway, "/framed/reset-always")
        assert status == 502
        assert json.loads(body)["error"]["code"] == "bad_gateway"
        # At most one fresh connection: the failed attempt on it was the last.
        assert framed.connections == before + 1
        assert post_ok(framing_gateway, "/framed/ok") == 200


def test_a_pooled_connection_receiving_unasked_bytes_is_dropped(framing_gateway, framed):
    """Bytes arriving on an idle pooled connection must never become the next request's
    response: the gateway closes that connection, and the next POST gets its own answer."""
    framed.send_unsolicited.clear()
    framed.unsolicited_dropped.clear()
    reply = framing_gateway.request("GET", "/framed/then-unsolicited")
    assert (reply.status, reply.body) == (200, b'{"ok":true}')
    framed.send_unsolicited.set()
    assert framed.unsolicited_dropped.wait(5), "the gateway kept the out-of-step connection"
    framed.send_unsolicited.clear()
    assert post_ok(framing_gateway, "/framed/ok") == 200
