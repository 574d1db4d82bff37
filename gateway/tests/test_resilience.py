"""Retries, circuit breakers, and one slow upstream not stalling the others."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

ROUTES = """
[[routes]]
prefix = "/flaky/"
upstream = "flaky"

[[routes]]
prefix = "/api/"
upstream = "echo"
"""


@pytest.fixture
def breaker_gateway(start_gateway, make_routes, toggle_server, echo_server, new_redis_url):
    return start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(ROUTES),
            "FLAKY_URL": toggle_server.url,
            "ECHO_URL": echo_server[1].url,
            "BREAKER_FAILURE_THRESHOLD": "3",
            "BREAKER_OPEN_SECONDS": "1",
            "REDIS_URL": new_redis_url(),
        }
    )


def _breaker_state(gateway, upstream: str) -> str:
    for line in gateway.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(f'gateway_circuit_breaker_state{{upstream="{upstream}"}}'):
            return line.rsplit(" ", 1)[1]
    raise AssertionError("no breaker metric")


def test_breaker_opens_answers_503_at_once_and_recovers(breaker_gateway, toggle_server, echo):
    # Down: each POST is one failure (never retried), 502 until the breaker opens.
    statuses = [breaker_gateway.request("POST", "/flaky/x", body=b"{}").status for _ in range(3)]
    assert statuses == [502, 502, 502]
    reply = breaker_gateway.request("GET", "/flaky/x")
    assert reply.status == 503  # the breaker's answer: the upstream's own failure is a 502
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert reply.header("retry-after") == "1"
    assert _breaker_state(breaker_gateway, "flaky") == "2.0"
    # Other upstreams are not affected.
    assert breaker_gateway.request("GET", "/api/fine").status == 200

    # Back up: after BREAKER_OPEN_SECONDS one probe goes through and closes the breaker.
    toggle_server.up()
    time.sleep(1.1)
    assert breaker_gateway.request("GET", "/flaky/x").status == 404  # the upstream's answer
    assert _breaker_state(breaker_gateway, "flaky") == "0.0"


def test_failed_probe_opens_the_breaker_again(breaker_gateway):
    for _ in range(3):
        breaker_gateway.request("POST", "/flaky/x", body=b"{}")
    time.sleep(1.1)
    assert breaker_gateway.request("POST", "/flaky/x", body=b"{}").status == 502  # the probe
    assert breaker_gateway.request("POST", "/flaky/x", body=b"{}").status == 503


def test_a_healthy_probe_from_health_ends_the_open_period(breaker_gateway, toggle_server):
    for _ in range(3):
        breaker_gateway.request("POST", "/flaky/x", body=b"{}")
    assert breaker_gateway.request("GET", "/flaky/x").status == 503
    toggle_server.up()
    health = breaker_gateway.request("GET", "/health").json()
    assert health["upstreams"]["flaky"]["status"] == "ok"
    assert health["upstreams"]["flaky"]["breaker"] == "half_open"
    assert breaker_gateway.request("GET", "/flaky/x").status == 404  # the upstream's answer


def test_idempotent_requests_are_retried_after_a_lost_connection(gateway):
    # The raw upstream drops the first connection for each such path, then answers.
    path = f"/raw/drop-once/{uuid.uuid4().hex}"
    assert gateway.request("GET", path).status == 200
    path = f"/raw/drop-once/{uuid.uuid4().hex}"
    assert gateway.request("POST", path, body=b"{}").status == 502  # might have been applied
    metrics = gateway.request("GET", "/metrics").body.decode()
    assert 'gateway_upstream_retries_total{upstream="raw"}' in metrics


def test_a_slow_upstream_does_not_stall_other_requests(gateway):
    slow = threading.Thread(target=gateway.request, args=("GET", "/api/sleep/0.8"))
    slow.start()
    time.sleep(0.1)
    assert gateway.request("GET", "/api/quick").status == 200
    assert slow.is_alive()  # answered while the slow one is still waiting upstream
    slow.join()


def test_upstream_connections_are_reused(gateway):
    ports = {gateway.request("GET", "/api/keepalive").json()["client_port"] for _ in range(5)}
    assert len(ports) == 1
