"""msh_common.http_protocol's service protocol under a real uvicorn: bounded heads, JSON refusals.

The gateway's own suite covers the whole protocol at the edge (lingering close, slow and idle
clients); here is what every service gets from it with its defaults and its environment.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from devstack.stub_http import asgi_server
from msh_common.http_protocol import ServiceLimits

SERVICE_HTTP = "msh_common.http_protocol:ServiceHttpProtocol"


async def hello(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    """Answers every request with 200 and the number of request headers it saw."""
    body = json.dumps({"headers": len(scope["headers"])}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with asgi_server(hello, http=SERVICE_HTTP) as url:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        yield parts.hostname, parts.port


def raw_get(server: tuple[str, int], headers: list[tuple[str, str]], target: str = "/") -> bytes:
    """A GET with ``headers`` over a plain socket (http.client would refuse hostile heads);
    the whole answer, read until the server closes."""
    lines = [f"GET {target} HTTP/1.1", "Host: service", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    with socket.create_connection(server, timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_and_error(answer: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    assert b"connection: close" in head.lower(), head
    return int(head.split()[1]), json.loads(body)["error"]


def test_a_request_with_many_ordinary_headers_is_served(server):
    """What the gateway forwards (up to its caps: 100 fields, 64 KiB) passes behind it."""
    headers = [(f"X-Field-{i}", "v" * 600) for i in range(100)]
    answer = raw_get(server, headers)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"headers": 102}


def test_keep_alive_connections_from_one_address_are_not_capped(server):
    """The gateway keeps a pool of connections to a service: no idle cap closes them."""
    connections = [http.client.HTTPConnection(*server, timeout=10) for _ in range(40)]
    try:
        for connection in connections:
            connection.request("GET", "/")
            assert connection.getresponse().read()
        for connection in connections:  # every one is still open and answers again
            connection.request("GET", "/")
            assert connection.getresponse().status == 200
    finally:
        for connection in connections:
            connection.close()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param([("X-Big", "a" * 3 * 1024 * 1024)], "header", id="one-3MB-header"),
        pytest.param([("X-Line", "a" * 40 * 1024)], "header", id="one-40KB-header"),
        pytest.param([(f"X-H{i}", "v") for i in range(300)], "More than 200", id="300-headers"),
        pytest.param(
            [(f"X-H{i}", "v" * 1000) for i in range(150)], "131072", id="150KB-of-headers"
        ),
    ],
)
def test_a_head_over_a_limit_is_a_json_431(server, headers, message):
    status, error = status_and_error(raw_get(server, headers))
    assert status == 431
    assert error["code"] == "request_header_fields_too_large"
    assert message in error["message"]


def test_a_request_target_over_the_line_limit_is_a_json_414(server):
    status, error = status_and_error(raw_get(server, [], target="/" + "a" * 40 * 1024))
    assert (status, error["code"]) == (414, "uri_too_long")


def test_limits_come_from_server_variables():
    limits = ServiceLimits.from_env(
        {"SERVER_MAX_HEADER_BYTES": "4096", "SERVER_MAX_HEADERS": "20", "SERVER_NAME": "x"}
    ).connection_limits()
    assert (limits.max_head_bytes, limits.max_headers) == (4096, 20)
    assert limits.max_line_bytes == 32 * 1024
    assert limits.max_idle_per_client == 0


def test_a_limit_out_of_range_is_refused():
    with pytest.raises(ValidationError):
        ServiceLimits.from_env({"SERVER_MAX_HEADER_BYTES": "10"})
