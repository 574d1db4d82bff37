"""Hop-by-hop headers, forwarding headers and request ids."""

from __future__ import annotations

import re

import pytest

HOP_BY_HOP = (
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
)


def test_hop_by_hop_request_headers_are_stripped(gateway):
    echoed = gateway.request(
        "GET",
        "/api/hop",
        [
            ("Connection", "keep-alive, X-Client-Hop"),
            ("X-Client-Hop", "secret"),
            ("Keep-Alive", "timeout=99"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic Z2F0ZXdheTpzZWNyZXQ="),
            ("Proxy-Authenticate", "Basic"),
            ("X-Keep-Me", "yes"),
        ],
    ).json()
    headers = dict(echoed["headers"])
    assert headers["x-keep-me"] == "yes"
    assert "x-client-hop" not in headers
    for name in HOP_BY_HOP:
        if name == "connection":
            # The client library may manage its own connection to the upstream, but none
            # of the client's connection options may leak through.
            assert "x-client-hop" not in headers.get(name, "").lower()
        else:
            assert name not in headers, name


def test_hop_by_hop_response_headers_are_stripped(gateway):
    reply = gateway.request("GET", "/raw/hop-by-hop")
    assert reply.status == 200
    assert reply.body == b"hello"
    assert reply.header("x-end-to-end") == "kept"
    names = {name.lower() for name, _ in reply.headers}
    assert "x-upstream-hop" not in names
    for name in HOP_BY_HOP:
        if name in ("connection", "transfer-encoding"):
            continue  # the gateway's own server may set these for its own connection
        assert name not in names, name
    assert "x-upstream-hop" not in (reply.header("connection") or "").lower()
    # Date and Server come from the gateway's server, once; the upstream's are dropped.
    assert len(reply.header_all("date")) == 1
    assert reply.header("date") != "Mon, 01 Jan 2001 00:00:00 GMT"
    assert reply.header_all("server") in ([], ["uvicorn"])
    # The upstream cannot override the request id.
    assert reply.header_all("x-request-id") != ["upstream-made-this-up"]
    assert len(reply.header_all("x-request-id")) == 1


@pytest.mark.parametrize(
    ("gateway_name", "source"),
    [
        # As every launcher runs it (--no-proxy-headers): nobody is trusted, loopback included.
        ("gateway", "127.0.0.1"),
        # Had uvicorn's own handling been turned on, it would trust X-Forwarded-* from loopback
        # peers (FORWARDED_ALLOW_IPS), so that client connects from another address.
        ("gateway_uvicorn_proxy_headers", "127.0.0.2"),
    ],
)
def test_forwarding_headers_are_set_by_the_gateway_only(request, gateway_name, source):
    gateway = request.getfixturevalue(gateway_name)
    echoed = gateway.request(
        "GET",
        "/api/fwd",
        [
            ("Host", "public.example:8443"),
            ("X-Forwarded-For", "6.6.6.6, 7.7.7.7"),
            ("X-Forwarded-For", "8.8.8.8"),
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Port", "1"),
            ("X-Real-IP", "6.6.6.6"),
            ("Forwarded", "for=6.6.6.6;proto=https"),
        ],
        source=source,
    ).json()
    pairs = echoed["headers"]
    values = {name: [v for n, v in pairs if n == name] for name, _ in pairs}
    assert values["x-forwarded-for"] == [source]
    assert values["x-forwarded-host"] == ["public.example:8443"]
    assert values["x-forwarded-proto"] == ["http"]
    assert "x-forwarded-port" not in values
    assert "x-real-ip" not in values
    assert "forwarded" not in values
    assert values["host"] == [gateway.env["ECHO_URL"].removeprefix("http://")]


def test_request_id_is_generated_forwarded_and_returned(gateway):
    reply = gateway.request("GET", "/api/rid")
    request_id = reply.header("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert dict(reply.json()["headers"])["x-request-id"] == request_id
    assert gateway.request("GET", "/api/rid").header("x-request-id") != request_id


def test_sane_client_request_id_is_kept(gateway):
    request_id = "Abc-123_x.y" + "z" * 117  # 128 characters
    reply = gateway.request("GET", "/api/rid", [("X-Request-ID", request_id)])
    assert reply.header_all("x-request-id") == [request_id]
    echoed = reply.json()["headers"]
    assert [value for name, value in echoed if name == "x-request-id"] == [request_id]


@pytest.mark.parametrize("bad", ["has space", "semi;colon", "x" * 129, "é", ""])
def test_insane_client_request_id_is_replaced(gateway, bad):
    reply = gateway.request("GET", "/api/rid", [("X-Request-ID", bad)])
    request_id = reply.header("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert dict(reply.json()["headers"])["x-request-id"] == request_id


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("POST", "/api/readonly/x", 405), ("GET", "/dead/x", 502)],
)
def test_request_id_is_returned_on_errors(gateway, method, path, status):
    reply = gateway.request(method, path, [("X-Request-ID", "err-42")])
    assert reply.status == status
    assert reply.header_all("x-request-id") == ["err-42"]
