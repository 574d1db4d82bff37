"""Gateway behaviours that need a gateway of their own next to the platform's: the strict
rate limit on login, what a service receives (spoofed headers dropped), and a live event
stream. Each extra gateway runs exactly as the launcher runs the platform's."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import PASSWORD, TestUpstream, bearer, login, register, start_gateway_process


def _other_redis_db(stack, number: int) -> str:
    base, _, _ = stack.env["REDIS_URL"].rpartition("/")
    return f"{base}/{number}"


def test_login_is_strictly_rate_limited(stack):
    url, process = start_gateway_process(
        stack,
        "gateway-strict",
        RATE_LIMIT_STRICT="3/minute",
        REDIS_URL=_other_redis_db(stack, 7),  # its own counters
    )
    try:
        with httpx.Client(base_url=url, timeout=15) as client:
            user = register(client)  # /api/auth/register is in the strict class too: 1 of 3
            statuses = []
            for _ in range(3):
                response = client.post(
                    "/api/auth/login",
                    json={"email": user["email"], "password": "wrong-" + PASSWORD},
                )
                statuses.append(response.status_code)
            assert statuses == [401, 401, 429]
            assert response.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(response.headers["retry-after"]) <= 120
            assert response.headers["ratelimit-limit"] == "3"
            assert response.headers["ratelimit-remaining"] == "0"
            # Other routes have their own, larger budget.
            assert client.get("/api/auth/jwks").status_code == 200
    finally:
        process.stop()


ECHO_ROUTES = """
[upstreams.echo]
openapi = ""

[[routes]]
prefix = "/echo/"
upstream = "echo"
timeout = 5

[[routes]]
prefix = "/private/"
upstream = "echo"
auth = "jwt"
"""


@pytest.fixture(scope="module")
def echo_gateway(stack):
    with TestUpstream(pause=0.6) as upstream:
        url, process = start_gateway_process(
            stack, "gateway-echo", ECHO_ROUTES, ECHO_URL=upstream.url
        )
        try:
            yield url
        finally:
            process.stop()


def _received(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.text
    pairs = response.json()["headers"]
    return {name: [v for n, v in pairs if n == name] for name, _ in pairs}


def test_spoofed_forwarding_and_identity_headers_do_not_reach_services(echo_gateway):
    with httpx.Client(base_url=echo_gateway, timeout=15) as client:
        received = _received(
            client.get(
                "/echo/who",
                headers={
                    "X-Forwarded-For": "6.6.6.6",
                    "X-Real-IP": "6.6.6.6",
                    "Forwarded": "for=6.6.6.6",
                    "X-User-Id": "1",
                    "X-User-Roles": "staff",
                    "X-Internal-Auth": "trusted",
                    "X-Request-ID": "spoof-check-1",
                },
            )
        )
    assert received["x-forwarded-for"] == ["127.0.0.1"]
    for name in ("x-real-ip", "forwarded", "x-user-id", "x-user-roles", "x-internal-auth"):
        assert name not in received, name
    assert received["x-request-id"] == ["spoof-check-1"]
    assert len(received["traceparent"]) == 1


def test_services_learn_the_verified_user_from_the_edge(stack, echo_gateway):
    with stack.client() as platform:
        user = register(platform)
        access = login(platform, user["email"])["access"]
    with httpx.Client(base_url=echo_gateway, timeout=15) as client:
        assert client.get("/private/x").status_code == 401
        received = _received(
            client.get("/private/x", headers={**bearer(access), "X-User-Id": "someone-else"})
        )
    assert received["x-user-id"] == [str(user["id"])]


def test_server_sent_events_arrive_one_by_one(echo_gateway):
    # The test service sends an event every 0.6 s; each must arrive when sent, not at the end.
    # (The orders service's live order status will be the platform's first real stream.)
    arrivals = []
    started = time.monotonic()
    with (
        httpx.Client(base_url=echo_gateway, timeout=15) as client,
        client.stream("GET", "/echo/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append((line, time.monotonic() - started))
    assert [line for line, _ in arrivals] == ["data: event 0", "data: event 1", "data: event 2"]
    assert arrivals[0][1] < 0.4
    assert arrivals[1][1] - arrivals[0][1] > 0.4
    assert arrivals[2][1] - arrivals[1][1] > 0.4
