"""Several instances behind one upstream (balancer.py), each a real process: requests spread over
them, a SIGKILLed one is ejected without failing an idempotent request and comes back after a
restart, and DNS discovery finds the instances of a name."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from devstack.waiting import eventually

INSTANCE = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    disable_nagle_algorithm = True  # head and body leave at once

    def do_GET(self):
        body = json.dumps({"instance": NAME, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

ROUTES = """
[[routes]]
prefix = "/api/catalog"
upstream = "catalog"
"""

DNS_ROUTES = (
    ROUTES
    + """
[upstreams.catalog]
discover = "dns"
"""
)


@dataclass
class InstanceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", INSTANCE, str(self.port), self.name])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def redis_url(new_redis_url) -> str:
    """One Redis database for this module's gateways (limits here are far above the traffic)."""
    return new_redis_url()


@pytest.fixture
def instances(unused_port: Callable[[], int]) -> Iterator[list[InstanceProcess]]:
    started = [InstanceProcess(f"catalog-{n}", unused_port()) for n in range(3)]
    for instance in started:
        instance.start()
    yield started
    for instance in started:
        if instance.process is not None and instance.process.poll() is None:
            instance.kill()


def balanced_gateway(start_gateway, make_routes, redis_url, catalog_url, routes=ROUTES):
    gateway = start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(routes),
            "CATALOG_URL": catalog_url,
            "REDIS_URL": redis_url,
            "UPSTREAM_PROBE_SECONDS": "0.2",
            "HEALTH_TIMEOUT_SECONDS": "0.5",
            "BREAKER_OPEN_SECONDS": "0.5",
            "RATE_LIMIT_ANONYMOUS": "1000000/minute",
        }
    )
    eventually(lambda: gateway.request("GET", "/health").status == 200, timeout=10)
    return gateway


def instance_requests(gateway) -> dict[str, float]:
    """gateway_upstream_instance_requests_total per instance, from /metrics."""
    text = gateway.request("GET", "/metrics").body.decode()
    pattern = re.compile(
        r"^gateway_upstream_instance_requests_total"
        r'\{instance="([^"]+)",upstream="catalog"\} (\S+)$',
        re.MULTILINE,
    )
    return {instance: float(count) for instance, count in pattern.findall(text)}


def instance_states(gateway) -> dict[str, float]:
    """gateway_upstream_instance_state per instance (0 in rotation, 1 probed, 2 ejected)."""
    text = gateway.request("GET", "/metrics").body.decode()
    pattern = re.compile(
        r'^gateway_upstream_instance_state\{instance="([^"]+)",upstream="catalog"\} (\S+)$',
        re.MULTILINE,
    )
    return {instance: float(state) for instance, state in pattern.findall(text)}


def who(gateway) -> str:
    reply = gateway.request("GET", "/api/catalog/who")
    assert reply.status == 200, reply.body
    return reply.json()["instance"]


def test_requests_spread_over_every_instance(start_gateway, make_routes, redis_url, instances):
    url = ",".join(instance.url for instance in instances)
    gateway = balanced_gateway(start_gateway, make_routes, redis_url, url)

    answered = Counter(who(gateway) for _ in range(300))

    assert set(answered) == {"catalog-0", "catalog-1", "catalog-2"}
    assert min(answered.values()) >= 50  # 100 each on average; random choices wobble
    counted = instance_requests(gateway)
    assert sum(counted.values()) >= 300
    assert set(counted) == {f"127.0.0.1:{instance.port}" for instance in instances}


def test_a_killed_instance_is_ejected_no_get_fails_and_it_returns(
    start_gateway, make_routes, redis_url, instances
):
    url = ",".join(instance.url for instance in instances)
    gateway = balanced_gateway(start_gateway, make_routes, redis_url, url)
    victim = instances[1]
    victim_label = f"127.0.0.1:{victim.port}"
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            statuses[gateway.request("GET", "/api/catalog/who").status] += 1

    clients = [threading.Thread(target=load) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        eventually(lambda: instance_requests(gateway).get(victim_label, 0) >= 20, timeout=10)
        victim.kill()
        eventually(lambda: instance_states(gateway)[victim_label] != 0, timeout=5)
        catalog = gateway.request("GET", "/health").json()["upstreams"]["catalog"]
        assert catalog["status"] == "ok" and catalog["instances"]["closed"] == 2
        # Ejected: from now on no request reaches it (a probe may only knock on its port).
        sent_to_victim = instance_requests(gateway)[victim_label]
        before = sum(statuses.values())
        eventually(lambda: sum(statuses.values()) >= before + 200, timeout=20)
        assert instance_requests(gateway)[victim_label] <= sent_to_victim + 1

        victim.start()  # same port: back after its probe passes
        eventually(lambda: instance_states(gateway)[victim_label] == 0, timeout=10)
        back = instance_requests(gateway)[victim_label]
        eventually(lambda: instance_requests(gateway)[victim_label] > back + 10, timeout=10)
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert set(statuses) == {200}, statuses  # no GET failed, before, during or after


def test_dns_discovery_balances_over_every_address_of_a_name(
    start_gateway, make_routes, redis_url, instances
):
    # "localhost" names 127.0.0.1 (and maybe ::1, where nothing listens: ejected at once).
    port = instances[0].port
    gateway = balanced_gateway(
        start_gateway, make_routes, redis_url, f"http://localhost:{port}", DNS_ROUTES
    )

    assert {who(gateway) for _ in range(20)} == {"catalog-0"}
    states = instance_states(gateway)
    assert states[f"127.0.0.1:{port}"] == 0
    # the name itself was never an instance: no series of its own stays behind
    assert f"localhost:{port}" not in states


def test_an_upstream_with_every_instance_gone_answers_503(
    start_gateway, make_routes, redis_url, instances
):
    url = ",".join(instance.url for instance in instances[:2])
    gateway = balanced_gateway(start_gateway, make_routes, redis_url, url)
    for instance in instances[:2]:
        instance.kill()

    eventually(lambda: gateway.request("GET", "/api/catalog/who").status == 503, timeout=5)
    reply = gateway.request("GET", "/api/catalog/who")
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert reply.header("retry-after") is not None
    assert gateway.request("GET", "/health").status == 503


SPLIT_ROUTES = """
[[routes]]
prefix = "/api/orders"
split = {orders = 90, orders_v2 = 10}

[[routes]]
prefix = "/api/v2/orders"
upstream = "orders_v2"
"""


@pytest.fixture
def split_gateway(start_gateway, make_routes, redis_url, instances, keyring_server):
    stable, canary = instances[0], instances[1]
    return start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(SPLIT_ROUTES),
            "ORDERS_URL": stable.url,
            "ORDERS_V2_URL": canary.url,
            "REDIS_URL": redis_url,
            "JWKS_URL": keyring_server[1].url + "/jwks",
            "RATE_LIMIT_ANONYMOUS": "1000000/minute",
            "RATE_LIMIT_USER": "1000000/minute",
        }
    )


def side(gateway, path="/api/orders/x", headers=()) -> str:
    reply = gateway.request("GET", path, headers)
    assert reply.status == 200, reply.body
    return reply.json()["instance"]


def sides_of(gateway, count: int) -> Counter[str]:
    """Which side answered each of ``count`` GETs, sent on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    answered: Counter[str] = Counter()
    try:
        for _ in range(count):
            connection.request("GET", "/api/orders/x")
            response = connection.getresponse()
            assert response.status == 200
            answered[json.loads(response.read())["instance"]] += 1
    finally:
        connection.close()
    return answered


def test_a_weighted_split_lands_within_three_percent_of_its_weights(split_gateway):
    sides = sides_of(split_gateway, 2000)

    assert set(sides) == {"catalog-0", "catalog-1"}  # the stable instance, the canary
    assert abs(sides["catalog-1"] / 2000 - 0.10) <= 0.03


def test_a_user_sticks_to_one_side_and_users_are_split_by_weight(split_gateway, keyring):
    def user_side(sub: str) -> str:
        token = keyring.token(sub=sub)
        return side(split_gateway, headers=[("Authorization", f"Bearer {token}")])

    for sub in ("alice", "bob", "carol"):
        assert len({user_side(sub) for _ in range(10)}) == 1  # always the same side
    users = Counter(user_side(f"user-{n}") for n in range(400))
    assert abs(users["catalog-1"] / 400 - 0.10) <= 0.05


def test_x_canary_forces_a_side_and_a_versioned_route_reaches_the_new_version(split_gateway):
    assert {side(split_gateway, headers=[("X-Canary", "always")]) for _ in range(20)} == {
        "catalog-1"
    }
    assert {side(split_gateway, headers=[("X-Canary", "never")]) for _ in range(20)} == {
        "catalog-0"
    }
    reply = split_gateway.request("GET", "/api/v2/orders/42")
    assert reply.json() == {"instance": "catalog-1", "path": "/api/v2/orders/42"}
