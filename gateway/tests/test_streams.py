"""Streams (SSE) cannot starve everyone: they have their own connections to the upstream, each
user may hold only SSE_MAX_STREAMS_PER_USER of them, and a full pool answers 503 at once.

Real servers: a Starlette app under uvicorn that holds event streams open (heartbeat comments)
and answers ordinary requests, slowly on one path; clients on real sockets.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from devstack.stub_http import asgi_server

ROUTES = """
[[routes]]
prefix = "/api/orders/"
upstream = "live"
auth = "jwt"
timeout = 30
streams = ["/api/orders/*/events"]
"""
PER_USER = 5


async def events(request: Request) -> StreamingResponse:
    """Heartbeats until the client leaves; order "short" ends after two events, and order
    "broken" fails before its stream starts."""
    order = request.path_params["order"]
    if order == "broken":
        raise RuntimeError("cannot follow this order")

    async def heartbeats():
        sent = 0
        while order != "short" or sent < 2:
            yield b": heartbeat\n\n"
            sent += 1
            await asyncio.sleep(0.2)
        yield b"data: done\n\n"

    return StreamingResponse(heartbeats(), media_type="text/event-stream")


async def quick(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(2)
    return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def live_upstream() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/api/orders/{order}/events", events),
            Route("/api/orders/quick", quick),
            Route("/api/orders/slow", slow),
        ]
    )
    with asgi_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def stream_gateway(start_gateway, make_routes, live_upstream, keyring_server, new_redis_url):
    return start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(ROUTES),
            "LIVE_URL": live_upstream,
            "JWKS_URL": keyring_server[1].url + "/jwks",
            "REDIS_URL": new_redis_url(),
            "UPSTREAM_MAX_CONNECTIONS": "3",  # the request/response pool
            "UPSTREAM_POOL_WAIT_SECONDS": "0.3",
            "SSE_MAX_STREAMS_PER_USER": str(PER_USER),
            "RATE_LIMIT_USER": "100000/minute",
            # One failure would open the breaker: a full pool must not count as one.
            "BREAKER_FAILURE_THRESHOLD": "1",
        }
    )


class Stream:
    """An open event stream through the gateway, read until its first event arrives."""

    def __init__(self, port: int, token: str, order: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(
            f"GET /api/orders/{order}/events HTTP/1.1\r\nHost: shop\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        self.head = b""
        while b"\r\n\r\n" not in self.head:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.head += chunk

    @property
    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()


def open_streams(gateway, token: str, count: int) -> list[Stream]:
    return [Stream(gateway.port, token, order) for order in range(count)]


def get(gateway, token: str, path: str):
    return gateway.request("GET", path, [("Authorization", f"Bearer {token}")])


def test_streams_of_many_users_leave_ordinary_requests_their_connections(stream_gateway, keyring):
    streams = [
        stream
        for user in range(6)  # 30 open streams, ten times the request pool
        for stream in open_streams(stream_gateway, keyring.token(sub=f"viewer-{user}"), PER_USER)
    ]
    try:
        assert [stream.status for stream in streams] == [200] * 30
        token = keyring.token(sub="shopper")
        replies = [get(stream_gateway, token, "/api/orders/quick") for _ in range(10)]
        assert [reply.status for reply in replies] == [200] * 10
    finally:
        for stream in streams:
            stream.close()


def test_one_user_may_hold_only_so_many_streams_and_gets_them_back(stream_gateway, keyring):
    token = keyring.token(sub="binge-watcher")
    streams = open_streams(stream_gateway, token, PER_USER)
    assert [stream.status for stream in streams] == [200] * PER_USER
    refused = get(stream_gateway, token, "/api/orders/99/events")
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert int(refused.header("retry-after")) > 0
    other = Stream(stream_gateway.port, keyring.token(sub="someone-else"), 1)
    assert other.status == 200  # another user's own allowance
    other.close()

    for stream in streams:
        stream.close()

    def reopened() -> list[Stream] | None:
        again = open_streams(stream_gateway, token, PER_USER)
        if all(stream.status == 200 for stream in again):
            return again
        for stream in again:
            stream.close()
        return None

    deadline = time.monotonic() + 10
    while (again := reopened()) is None:  # slots come back once the gateway sees each close
        assert time.monotonic() < deadline, "stream slots were never given back"
    for stream in again:
        stream.close()


def test_a_full_pool_answers_503_at_once_instead_of_hanging(stream_gateway, keyring):
    token = keyring.token(sub="patient")
    busy = [
        threading.Thread(target=get, args=(stream_gateway, token, "/api/orders/slow"))
        for _ in range(3)
    ]
    for thread in busy:
        thread.start()
    try:

        def refused_while_busy():
            started = time.monotonic()
            reply = get(stream_gateway, token, "/api/orders/quick")
            return (reply, time.monotonic() - started) if reply.status == 503 else None

        deadline = time.monotonic() + 5
        while (refused := refused_while_busy()) is None:
            assert time.monotonic() < deadline, "the pool never filled up"
        reply, waited = refused
        assert reply.json()["error"]["code"] == "upstream_busy"
        assert reply.header("retry-after") == "1"
        assert waited < 1.5  # UPSTREAM_POOL_WAIT_SECONDS (0.3), not a timeout
        # Not an upstream failure: the breaker (threshold 1) stayed closed, so a stream (its
        # own pool, the same breaker) still opens while the slow requests hold theirs.
        stream = Stream(stream_gateway.port, token, 7)
        stream.close()
        assert stream.status == 200
    finally:
        for thread in busy:
            thread.join()
    reply = get(stream_gateway, token, "/api/orders/quick")
    assert (reply.status, reply.json()) == (200, {"ok": True})


def test_streams_ended_by_the_upstream_or_failing_give_their_slot_back(stream_gateway, keyring):
    token = keyring.token(sub="finisher")
    for _ in range(2 * PER_USER):  # more streams in all than one user may hold at once
        ended = get(stream_gateway, token, "/api/orders/short/events")
        assert ended.status == 200
        assert ended.body == b": heartbeat\n\n: heartbeat\n\ndata: done\n\n"
        failed = get(stream_gateway, token, "/api/orders/broken/events")
        assert (failed.status, failed.body) == (500, b"Internal Server Error")

    deadline = time.monotonic() + 10
    while True:  # every slot is free again: a full allowance of live streams opens
        streams = open_streams(stream_gateway, token, PER_USER)
        statuses = [stream.status for stream in streams]
        for stream in streams:
            stream.close()
        if statuses == [200] * PER_USER:
            break
        assert time.monotonic() < deadline, f"stream slots leaked: {statuses}"
