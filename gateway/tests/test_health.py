"""GET /health reflects every upstream's own /health."""

from __future__ import annotations


def test_healthy_when_every_upstream_answers_200(mainapp_gateway, echo):
    reply = mainapp_gateway.request("GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "upstreams": {"mainapp": {"status": "ok"}}}
    assert reply.header("cache-control") == "no-store"
    assert reply.header("x-request-id")
    assert "/health" in echo.paths_received()


def test_unavailable_when_an_upstream_answers_an_error(mainapp_gateway, echo):
    echo.health_status = 500
    reply = mainapp_gateway.request("GET", "/health")
    assert reply.status == 503
    assert reply.json() == {
        "status": "unavailable",
        "upstreams": {"mainapp": {"status": "unavailable", "error": "answered HTTP 500"}},
    }


def test_unavailable_when_an_upstream_is_down_or_slow(gateway, echo):
    # HEALTH_TIMEOUT_SECONDS=0.5; "dead" has nothing listening; "raw" is healthy.
    echo.health_delay = 2
    reply = gateway.request("GET", "/health")
    assert reply.status == 503
    assert reply.json() == {
        "status": "unavailable",
        "upstreams": {
            "echo": {"status": "unavailable", "error": "timed out after 0.5s"},
            "echo-by-name": {"status": "unavailable", "error": "timed out after 0.5s"},
            "raw": {"status": "ok"},
            "dead": {"status": "unavailable", "error": "unreachable"},
        },
    }
