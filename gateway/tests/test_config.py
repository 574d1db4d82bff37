"""Settings and route table loading (no servers needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.headers import client_response_headers, scan_request
from gateway.routing import RouteConfigError, load_route_table
from gateway.settings import DEFAULT_ROUTES_FILE, Settings

ENV_VARS = (
    "GATEWAY_HOST",
    "GATEWAY_PORT",
    "MAINAPP_URL",
    "GATEWAY_ROUTES_FILE",
    "UPSTREAM_TIMEOUT_SECONDS",
    "UPSTREAM_MAX_CONNECTIONS",
    "GATEWAY_MAX_BODY_BYTES",
    "HEALTH_TIMEOUT_SECONDS",
    "LOG_LEVEL",
    "ENVIRONMENT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_defaults(clean_env):
    settings = Settings()
    assert settings.gateway_host == "127.0.0.1"
    assert settings.gateway_port == 8000
    assert settings.mainapp_url == "http://127.0.0.1:8001"
    assert settings.gateway_routes_file == DEFAULT_ROUTES_FILE
    assert DEFAULT_ROUTES_FILE.parent.name == "gateway" and DEFAULT_ROUTES_FILE.is_file()
    assert settings.upstream_timeout_seconds == 10
    assert settings.gateway_max_body_bytes == 1024 * 1024
    assert settings.health_timeout_seconds == 2
    assert settings.log_level == "INFO"
    assert settings.environment == "development"


def test_settings_from_environment(clean_env):
    clean_env.setenv("GATEWAY_PORT", "9000")
    clean_env.setenv("MAINAPP_URL", "http://mainapp:8001")
    clean_env.setenv("GATEWAY_MAX_BODY_BYTES", "10")
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("CATALOG_URL", "http://catalog:8002")
    settings = Settings()
    assert settings.gateway_port == 9000
    assert settings.gateway_max_body_bytes == 10
    assert settings.log_level == "DEBUG"
    assert settings.upstream_url("mainapp") == "http://mainapp:8001"
    assert settings.upstream_url("catalog") == "http://catalog:8002"
    assert settings.upstream_url("orders") is None


def test_shipped_route_table(clean_env):
    clean_env.setenv("CATALOG_URL", "http://catalog:8002")
    clean_env.setenv("ORDERS_URL", "http://orders:8003")
    table = load_route_table(DEFAULT_ROUTES_FILE, Settings())
    assert {route.prefix: route.upstream.name for route in table.routes}.items() >= {
        "/api/auth": "mainapp",
        "/api/auth/login": "mainapp",
        "/api/auth/register": "mainapp",
        "/api/auth/password-reset": "mainapp",
        "/api/users": "mainapp",
        "/.well-known": "mainapp",
        "/admin": "mainapp",
        "/static": "mainapp",
    }.items()
    # Edge authentication and rate-limit classes (issue: routes through the gateway).
    assert table.match("/api/users/me").auth == "jwt"
    assert table.match("/api/auth/refresh").auth == "none"
    assert table.match("/api/auth/refresh").rate_limit == "default"
    for path in ("/api/auth/login", "/api/auth/register", "/api/auth/password-reset/confirm"):
        assert table.match(path).rate_limit == "strict", path
    for path in ("/admin/", "/static/x.css", "/.well-known/jwks.json"):
        assert table.match(path).auth == "none", path
    assert table.upstreams["mainapp"].openapi_path == "/api/schema"
    assert table.match("/api/users/7/").prefix == "/api/users"
    assert table.match("/api/usersX") is None
    assert table.match("/api/nothing/") is None
    assert table.match("/static/x.css").methods == {"GET", "HEAD"}


def _load(tmp_path: Path, text: str, **environ: str):
    path = tmp_path / "routes.toml"
    path.write_text(text)
    return load_route_table(path, Settings(), environ)


def test_route_options(tmp_path, clean_env):
    table = _load(
        tmp_path,
        """
        [[routes]]
        prefix = "/api/catalog"
        upstream = "catalog"
        methods = ["get", "POST"]
        timeout = 2.5

        [[routes]]
        prefix = "/api/catalog/admin/"
        upstream = "catalog"
        """,
        CATALOG_URL="http://catalog:8002/base/",
    )
    route = table.match("/api/catalog/items")
    assert route.methods == {"GET", "HEAD", "POST"}
    assert route.timeout == 2.5
    assert table.match("/api/catalog/admin/x").timeout == 10
    assert str(route.upstream.url_for("/api/catalog/a%2Fb", "q=1")) == (
        "http://catalog:8002/base/api/catalog/a%2Fb?q=1"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[routes]]\nprefix = "api/"\nupstream = "mainapp"', "must start with '/'"),
        ('[[routes]]\nprefix = "/a/../b/"\nupstream = "mainapp"', "segments"),
        ('[[routes]]\nprefix = "/a"\nupstream = "mainapp"\nmethods = ["BREW"]', "methods"),
        ('[[routes]]\nprefix = "/a"\nupstream = "mainapp"\ntimout = 1', "timout"),
        ('[[routes]]\nprefix = "/a"\nupstream = "Main App"', "upstream"),
        (
            (
                '[[routes]]\nprefix = "/a/"\nupstream = "mainapp"\n[[routes]]\nprefix = "/a"\n'
                'upstream = "mainapp"'
            ),
            "duplicate route prefix '/a'",
        ),
        ('[[routes]]\nprefix = "/a"\nupstream = "orders"', "ORDERS_URL is not set"),
        ("routes = []", "routes"),
        ('[[routes]]\nprefix = "/a"\nupstream = "mainapp"\nauth = "maybe"', "auth"),
        ('[[routes]]\nprefix = "/a"\nupstream = "mainapp"\nrate_limit = "lax"', "rate_limit"),
        (
            '[[routes]]\nprefix = "/a"\nupstream = "mainapp"\n[upstreams.mainapp]\nhealth = "x"',
            "health",
        ),
        ("[[routes]\n", "not valid TOML"),
    ],
)
def test_invalid_route_tables_are_refused(tmp_path, clean_env, text, message):
    with pytest.raises(RouteConfigError, match=message):
        _load(tmp_path, text)


def test_invalid_upstream_url_is_refused(tmp_path, clean_env):
    with pytest.raises(RouteConfigError, match="CATALOG_URL"):
        _load(tmp_path, '[[routes]]\nprefix = "/a"\nupstream = "catalog"', CATALOG_URL="catalog")


def test_request_header_rules():
    raw = """host: public.example
        connection: X-Hop
        x-hop: 1
        x-forwarded-for: 6.6.6.6
        x-user-id: 1
        x-internal-trust: yes
        x-gateway-verified: yes
        x-request-id: rid-1
        traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
        content-length: 2
        authorization: Bearer abc
        accept: */*"""
    lines = [line.strip().encode().split(b": ", 1) for line in raw.splitlines()]
    head = scan_request([(name, value) for name, value in lines])
    assert head.forward == [(b"authorization", b"Bearer abc"), (b"accept", b"*/*")]
    assert head.host == b"public.example"
    assert head.forwarded_for == [b"6.6.6.6"]
    assert head.request_id == "rid-1"
    assert head.authorization == b"Bearer abc"
    assert head.content_length == b"2"


@pytest.mark.parametrize(("status", "kept"), [(200, True), (204, False), (304, False)])
def test_response_header_rules(status, kept):
    headers = client_response_headers(
        [(b"Content-Length", b"5"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")], status
    )
    assert ((b"content-length", b"5") in headers) is kept
    assert [value for name, value in headers if name == b"set-cookie"] == [b"a=1", b"b=2"]


def test_edge_options_of_routes(tmp_path, clean_env):
    table = _load(
        tmp_path,
        """
        [upstreams.catalog]
        openapi = ""
        health = "/ready"

        [[routes]]
        prefix = "/api/catalog/"
        upstream = "catalog"
        auth = "none"
        write_auth = "staff"
        rate_limit = "strict"
        max_body_bytes = 10

        [[routes]]
        prefix = "/api/orders/"
        upstream = "catalog"
        auth = "jwt"
        """,
        CATALOG_URL="http://catalog:8002",
    )
    catalog = table.match("/api/catalog/x")
    assert (catalog.auth_for("GET"), catalog.auth_for("POST")) == ("none", "staff")
    assert catalog.rate_limit == "strict" and catalog.max_body_bytes == 10
    assert catalog.upstream.openapi_path is None and catalog.upstream.health_path == "/ready"
    orders = table.match("/api/orders/1")
    assert (orders.auth_for("GET"), orders.auth_for("DELETE")) == ("jwt", "jwt")
    assert orders.max_body_bytes == 1024 * 1024 and orders.rate_limit == "default"
