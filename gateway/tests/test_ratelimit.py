"""Rate limits: per client address, per user, the strict class, shared through Redis."""

from __future__ import annotations

import time

import pytest
import redis

ROUTES = """
[[routes]]
prefix = "/api/"
upstream = "echo"

[[routes]]
prefix = "/login/"
upstream = "echo"
rate_limit = "strict"

[[routes]]
prefix = "/free/"
upstream = "echo"
rate_limit = "none"

[upstreams.echo]
openapi = ""
"""


@pytest.fixture(scope="module")
def limited_env(make_routes, echo_server, keyring_server, new_redis_url) -> dict[str, str]:
    return {
        "GATEWAY_ROUTES_FILE": make_routes(ROUTES),
        "ECHO_URL": echo_server[1].url,
        "JWKS_URL": keyring_server[1].url + "/jwks",
        "RATE_LIMIT_ANONYMOUS": "5/minute",
        "RATE_LIMIT_USER": "8/minute",
        "RATE_LIMIT_STRICT": "3/minute",
        "RATE_LIMIT_SYNC_SECONDS": "0.05",
        "REDIS_URL": new_redis_url(),
    }


@pytest.fixture(scope="module")
def limited(start_gateway, limited_env):
    return start_gateway(limited_env)


def _statuses(gateway, path, n, headers=(), source="127.0.0.1"):
    return [gateway.request("GET", path, list(headers), source=source).status for _ in range(n)]


def test_anonymous_clients_are_limited_per_address(limited):
    replies = [limited.request("GET", "/api/a", source="127.0.0.11") for _ in range(6)]
    assert [r.status for r in replies] == [200] * 5 + [429]
    assert [r.header("ratelimit-remaining") for r in replies[:5]] == ["4", "3", "2", "1", "0"]
    assert all(r.header("ratelimit-limit") == "5" for r in replies)
    refused = replies[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.header("retry-after")) <= 120
    assert 1 <= int(refused.header("ratelimit-reset")) <= 60
    assert refused.header("x-request-id")
    # Another address has its own budget.
    assert _statuses(limited, "/api/a", 1, source="127.0.0.12") == [200]


def test_users_are_limited_per_user_not_per_address(limited, keyring):
    alice = [("Authorization", f"Bearer {keyring.token(sub='alice')}")]
    bob = [("Authorization", f"Bearer {keyring.token(sub='bob')}")]
    assert _statuses(limited, "/api/u", 9, alice, source="127.0.0.13") == [200] * 8 + [429]
    assert _statuses(limited, "/api/u", 1, bob, source="127.0.0.13") == [200]


def test_strict_class_counts_in_redis_per_request(limited, limited_env):
    assert _statuses(limited, "/login/", 4, source="127.0.0.14") == [200] * 3 + [429]
    keys = redis.Redis.from_url(limited_env["REDIS_URL"]).keys("rl:strict:ip:127.0.0.14:*")
    assert len(keys) == 1


def test_routes_without_a_limit_are_not_counted(limited):
    replies = [limited.request("GET", "/free/x", source="127.0.0.15") for _ in range(7)]
    assert all(r.status == 200 and r.header("ratelimit-limit") is None for r in replies)


def test_replicas_share_their_counts_through_redis(start_gateway, limited_env, new_redis_url):
    env = {**limited_env, "REDIS_URL": new_redis_url()}
    first, second = start_gateway(env), start_gateway(env)
    assert _statuses(first, "/api/shared", 3, source="127.0.0.16") == [200] * 3
    time.sleep(0.3)  # a few synchronisations (RATE_LIMIT_SYNC_SECONDS=0.05)
    # The second replica decides locally, learning the shared count at its next
    # synchronisation after seeing the client (the price of no Redis round trip per request).
    assert _statuses(second, "/api/shared", 1, source="127.0.0.16") == [200]
    time.sleep(0.3)
    assert _statuses(second, "/api/shared", 2, source="127.0.0.16") == [200, 429]
    time.sleep(0.3)  # the first replica reads the count of a client close to its limit
    assert _statuses(first, "/api/shared", 1, source="127.0.0.16") == [429]


def test_without_redis_the_gateway_keeps_serving_with_local_limits(
    start_gateway, limited_env, unused_port
):
    gateway = start_gateway({**limited_env, "REDIS_URL": f"redis://127.0.0.1:{unused_port()}/0"})
    assert _statuses(gateway, "/api/x", 6, source="127.0.0.17") == [200] * 5 + [429]
    assert _statuses(gateway, "/login/", 4, source="127.0.0.17") == [200] * 3 + [429]
    time.sleep(0.3)
    metrics = gateway.request("GET", "/metrics").body.decode()
    assert "gateway_rate_limit_redis_up 0.0" in metrics
    assert 'gateway_rate_limit_rejections_total{limit_class="anonymous"} 1.0' in metrics
