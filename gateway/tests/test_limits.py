"""Request body limits and ambiguous framing."""

from __future__ import annotations

import json
import socket
import uuid

import pytest


def _chunked(body: bytes, size: int = 1000) -> bytes:
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def _limit(gateway) -> int:
    return int(gateway.env["GATEWAY_MAX_BODY_BYTES"])


def test_body_at_the_limit_is_accepted(gateway):
    body = b"x" * _limit(gateway)
    reply = gateway.request("POST", "/api/upload", body=body)
    assert reply.status == 200
    assert len(reply.json()["body"]) == len(body)


def test_declared_content_length_over_the_limit_is_refused_before_reading(gateway, echo):
    path = f"/api/big/{uuid.uuid4().hex}"
    # Only the head is sent: the answer must come without waiting for the body.
    head = f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Length: {_limit(gateway) + 1}\r\n\r\n"
    reply = gateway.raw(head.encode())
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"
    assert reply.header("connection") == "close"
    assert reply.header("x-request-id")
    assert path not in echo.paths_received()


def test_chunked_body_over_the_limit_is_refused(gateway, echo):
    path = f"/api/big/{uuid.uuid4().hex}"
    body = _chunked(b"y" * (_limit(gateway) + 1))
    reply = gateway.raw(
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + body
    )
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"
    assert path not in echo.paths_received()


def test_chunked_body_under_the_limit_is_forwarded(gateway):
    body = b"z" * _limit(gateway)
    reply = gateway.raw(
        b"POST /api/chunked-ok HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + _chunked(body)
    )
    assert reply.status == 200
    echoed = reply.json()
    assert echoed["body"] == body.decode()
    assert dict(echoed["headers"])["content-length"] == str(len(body))


@pytest.mark.parametrize("gateway_name", ["gateway", "gateway_h11"])
def test_content_length_with_transfer_encoding_is_refused(request, echo, gateway_name):
    # httptools (the production parser) refuses this itself; h11 hands it to the app,
    # where the gateway must refuse it (request smuggling).
    gateway = request.getfixturevalue(gateway_name)
    path = f"/api/smuggle/{uuid.uuid4().hex}"
    reply = gateway.raw(
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode()
    )
    assert reply.status == 400
    assert path not in echo.paths_received()
    if gateway_name == "gateway_h11":
        assert reply.json()["error"]["code"] == "bad_request"
        assert reply.header("x-request-id")


def test_expect_100_continue_under_the_limit(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/expect HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"hello")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    echoed = json.loads(body)
    assert echoed["body"] == "hello"
    assert "expect" not in dict(echoed["headers"])  # the gateway already has the body


def test_expect_100_continue_over_the_limit_gets_413_instead_of_100(gateway):
    reply = gateway.raw(
        f"POST /api/expect HTTP/1.1\r\nHost: gw\r\nContent-Length: {_limit(gateway) + 1}\r\n"
        "Expect: 100-continue\r\n\r\n".encode()
    )
    assert reply.status == 413


def test_a_request_uri_over_the_limit_is_refused_with_json_414(gateway, echo):
    from gateway.proxy import MAX_TARGET_BYTES

    path = f"/api/long/{uuid.uuid4().hex}"
    fits = f"{path}?q=" + "a" * (MAX_TARGET_BYTES - len(path) - 3)
    assert gateway.request("GET", fits).status == 200
    reply = gateway.request("GET", fits + "a")
    assert reply.status == 414
    assert reply.header("content-type") == "application/json"
    assert reply.json()["error"]["code"] == "uri_too_long"
    assert echo.paths_received().count(path) == 1  # only the one that fits
