"""Requests reach the upstream chosen by the route table, and only that one."""

from __future__ import annotations

import pytest


def test_unknown_path_is_a_404_json_error(gateway):
    reply = gateway.request("GET", "/nope/x")
    assert reply.status == 404
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"error": {"code": "not_found", "message": "No route for /nope/x."}}


@pytest.mark.parametrize("path", ["/apix", "/apiary/x", "/"])
def test_prefixes_match_whole_segments_only(gateway, path):
    assert gateway.request("GET", path).status == 404


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/users/7"])
def test_prefix_matches_itself_and_below(gateway, path):
    reply = gateway.request("GET", path)
    assert reply.status == 200
    assert reply.json()["path"] == path


def test_longest_prefix_wins(gateway):
    # /api/ allows POST, /api/readonly/ only GET: a 405 proves the longer prefix was used.
    reply = gateway.request("POST", "/api/readonly/thing", body=b"{}")
    assert reply.status == 405
    assert reply.json()["error"]["code"] == "method_not_allowed"
    assert reply.header("allow") == "GET, HEAD"
    assert gateway.request("GET", "/api/readonly/thing").status == 200
    assert gateway.request("POST", "/api/other", body=b"{}").status == 200


def test_gateway_endpoints_answer_405_in_json_too(gateway):
    reply = gateway.request("POST", "/health", body=b"")
    assert reply.status == 405
    assert reply.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "target", ["/api/../dead/x", "/api/%2e%2e/dead/x", "/api/./x", "/api/a/..", "/api\\..\\x"]
)
def test_dot_segments_are_refused(gateway, echo, target):
    reply = gateway.request("GET", target)
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "bad_request"
    assert target not in echo.paths_received()


@pytest.mark.parametrize("gateway_name", ["gateway", "gateway_h11"])
def test_absolute_uri_target_cannot_choose_the_upstream(request, echo, gateway_name):
    gateway = request.getfixturevalue(gateway_name)
    reply = gateway.raw(
        b"GET http://evil.example:666/api/abs?x=1 HTTP/1.1\r\n"
        b"Host: evil.example:666\r\nConnection: close\r\n\r\n"
    )
    assert reply.status == 200
    echoed = reply.json()
    assert echoed["path"] == "/api/abs"
    assert echoed["query"] == "x=1"
    upstream_host = dict(echoed["headers"])["host"]
    assert upstream_host == gateway.env["ECHO_URL"].removeprefix("http://")


def test_host_header_cannot_choose_the_upstream(gateway):
    reply = gateway.request("GET", "/api/host", [("Host", "evil.example")])
    assert dict(reply.json()["headers"])["host"] == gateway.env["ECHO_URL"].removeprefix("http://")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/auth/login/"),
        ("GET", "/api/users/me/"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/admin/"),
        ("POST", "/admin/login/"),
        ("GET", "/static/admin/css/base.css"),
    ],
)
def test_shipped_route_table_sends_mainapp_paths_to_mainapp(mainapp_gateway, keyring, method, path):
    headers = [("Authorization", f"Bearer {keyring.token()}")] if "/users/" in path else []
    reply = mainapp_gateway.request(method, path, headers, b"" if method == "POST" else None)
    assert reply.status == 200
    assert reply.json()["path"] == path


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nothing/items/", 404),
        ("GET", "/", 404),
        ("POST", "/static/x.css", 405),
        ("DELETE", "/.well-known/jwks.json", 405),
        ("GET", "/api/users/me", 401),  # edge authentication
    ],
)
def test_shipped_route_table_refuses_the_rest(mainapp_gateway, method, path, status):
    assert mainapp_gateway.request(method, path).status == status
