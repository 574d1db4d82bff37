"""GET /health reflects every upstream's own /health."""

from __future__ import annotations


def test_healthy_when_every_upstream_answers_200(mainapp_gateway, echo):
    reply = mainapp_gateway.request("GET", "/health")
    assert reply.status == 200
    report = reply.json()
    assert report["status"] == "ok"
    mainapp = report["upstreams"]["mainapp"]
    latency = mainapp.pop("latency_ms")
    assert isinstance(latency, float | int) and 0 <= latency < 2000
    assert mainapp == {"status": "ok", "breaker": "closed"}
    assert reply.header("cache-control") == "no-store"
    assert reply.header("x-request-id")
    assert "/health" in echo.paths_received()


def test_unavailable_when_an_upstream_answers_an_error(mainapp_gateway, echo):
    echo.health_status = 500
    reply = mainapp_gateway.request("GET", "/health")
    assert reply.status == 503
    report = reply.json()
    # catalog and orders are the echo server too in this gateway: all answer 500.
    assert report["status"] == "unavailable"
    mainapp = report["upstreams"]["mainapp"]
    mainapp.pop("latency_ms")
    assert mainapp == {"status": "unavailable", "error": "answered HTTP 500", "breaker": "closed"}


def test_unavailable_when_an_upstream_is_down_or_slow(gateway, echo):
    # HEALTH_TIMEOUT_SECONDS=0.5; "dead" has nothing listening; "raw" is healthy.
    echo.health_delay = 2
    reply = gateway.request("GET", "/health")
    assert reply.status == 503
    report = reply.json()
    assert report["upstreams"]["raw"].pop("latency_ms") >= 0
    assert report == {
        "status": "degraded",
        "upstreams": {
            "echo": {"status": "unavailable", "error": "timed out after 0.5s", "breaker": "closed"},
            "echo-by-name": {
                "status": "unavailable",
                "error": "timed out after 0.5s",
                "breaker": "closed",
            },
            "raw": {"status": "ok", "breaker": "closed"},
            "dead": {"status": "unavailable", "error": "unreachable", "breaker": "closed"},
        },
    }


def test_liveness_does_not_depend_on_upstreams(gateway, echo):
    echo.health_status = 500
    reply = gateway.request("GET", "/health/live")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}
    assert reply.header("cache-control") == "no-store"
