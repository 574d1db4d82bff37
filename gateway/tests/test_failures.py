"""Slow and unreachable upstreams become 504 and 502 errors in the platform shape."""

from __future__ import annotations

import time


def test_route_timeout_gives_504(gateway):
    # The /slow/ route has timeout = 0.5; the upstream answers after 3 s.
    started = time.monotonic()
    reply = gateway.request("GET", "/slow/sleep/3")
    elapsed = time.monotonic() - started
    assert reply.status == 504
    assert reply.json()["error"]["code"] == "upstream_timeout"
    assert reply.header("x-request-id")
    assert 0.4 < elapsed < 2


def test_default_timeout_applies_to_routes_without_one(gateway):
    # UPSTREAM_TIMEOUT_SECONDS=1 in the test environment.
    started = time.monotonic()
    reply = gateway.request("GET", "/api/sleep/3")
    elapsed = time.monotonic() - started
    assert reply.status == 504
    assert 0.9 < elapsed < 2.5


def test_upstream_within_the_timeout_is_fine(gateway):
    assert gateway.request("GET", "/api/sleep/0.2").status == 200


def test_closed_upstream_port_gives_502(gateway):
    reply = gateway.request("POST", "/dead/x", body=b"{}")
    assert reply.status == 502
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {
        "error": {"code": "bad_gateway", "message": "The upstream service is unavailable."}
    }
