"""Prometheus metrics of the gateway (prometheus-client), exposed at ``GET /metrics``.

Each app gets its own registry, so several apps in one process (tests) do not collide.
Labelled children are looked up once and kept: ``labels()`` takes a lock and builds a key
on every call, which is measurable at thousands of requests per second.
"""

from __future__ import annotations

import contextlib
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from msh_common.breaker import CLOSED, OPEN

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "Requests answered, by route (prefix), method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "gateway_upstream_latency_seconds",
            "Time from sending a request upstream to its response headers.",
            ("upstream",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_failures = Counter(
            "gateway_upstream_failures",
            "Upstream requests that failed in transport, by kind (connect, timeout).",
            ("upstream", "kind"),
            registry=self.registry,
        )
        self.upstream_retries = Counter(
            "gateway_upstream_retries",
            "Idempotent requests sent again after a connection failure.",
            ("upstream",),
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "gateway_circuit_breaker_state",
            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
            ("upstream",),
            registry=self.registry,
        )
        self.breaker_rejections = Counter(
            "gateway_circuit_breaker_rejections",
            "Requests answered 503 because the upstream's breaker was open.",
            ("upstream",),
            registry=self.registry,
        )
        self.instance_requests = Counter(
            "gateway_upstream_instance_requests",
            "Requests sent to each instance of an upstream.",
            ("upstream", "instance"),
            registry=self.registry,
        )
        self.instance_failures = Counter(
            "gateway_upstream_instance_failures",
            "Requests to an instance that failed in transport (connect, protocol, timeout).",
            ("upstream", "instance"),
            registry=self.registry,
        )
        self.instance_ejections = Counter(
            "gateway_upstream_instance_ejections",
            "Times an instance was taken out of rotation (refused, failing, failed probe).",
            ("upstream", "instance"),
            registry=self.registry,
        )
        self.instance_state = Gauge(
            "gateway_upstream_instance_state",
            "Each instance's breaker: 0 in rotation, 1 being probed, 2 ejected.",
            ("upstream", "instance"),
            registry=self.registry,
        )
        self.websockets_open = Gauge(
            "gateway_websockets_open",
            "WebSockets open through this process.",
            registry=self.registry,
        )
        self.websocket_messages = Counter(
            "gateway_websocket_messages",
            "WebSocket messages relayed, by direction (to_upstream, to_client).",
            ("direction",),
            registry=self.registry,
        )
        self.websocket_closes = Counter(
            "gateway_websocket_closes",
            "WebSockets closed after they opened, by close code.",
            ("code",),
            registry=self.registry,
        )
        self.websocket_refusals = Counter(
            "gateway_websocket_refusals",
            "WebSocket handshakes refused, by error code.",
            ("code",),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limit_rejections",
            "Requests answered 429, by rate-limit class.",
            ("limit_class",),
            registry=self.registry,
        )
        self.redis_up = Gauge(
            "gateway_rate_limit_redis_up",
            "1 while rate-limit counters are shared through Redis, 0 while local only.",
            registry=self.registry,
        )
        self.auth_refusals = Counter(
            "gateway_auth_refusals",
            "Requests refused at the edge by authentication, by error code.",
            ("code",),
            registry=self.registry,
        )
        self.redis_up.set(1)
        self._request_children: dict[tuple[str, str, int], object] = {}
        self._latency_children: dict[str, object] = {}

    def count_request(self, route: str, method: str, status: int) -> None:
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, method, str(status))
        child.inc()  # type: ignore[attr-defined]

    def observe_upstream(self, upstream: str, seconds: float) -> None:
        child = self._latency_children.get(upstream)
        if child is None:
            child = self._latency_children[upstream] = self.upstream_latency.labels(upstream)
        child.observe(seconds)  # type: ignore[attr-defined]

    def register_upstream(self, upstream: str) -> None:
        """Make an upstream's series visible from the start (breaker closed, no failures)."""
        self.breaker_state.labels(upstream).set(CLOSED)
        self.upstream_latency.labels(upstream)

    def breaker_changed(self, upstream: str, state: int) -> None:
        self.breaker_state.labels(upstream).set(state)

    def instance_counters(self, upstream: str, instance: str) -> tuple[Any, Any]:
        """The (requests, failures) counters of one instance, looked up once."""
        self.instance_state.labels(upstream, instance).set(CLOSED)
        return (
            self.instance_requests.labels(upstream, instance),
            self.instance_failures.labels(upstream, instance),
        )

    def forget_instance(self, upstream: str, instance: str) -> None:
        """An instance DNS no longer lists (or the name it was found by): no series stays."""
        for metric in (
            self.instance_state,
            self.instance_requests,
            self.instance_failures,
            self.instance_ejections,
        ):
            with contextlib.suppress(KeyError):  # never observed
                metric.remove(upstream, instance)

    def instance_changed(self, upstream: str, instance: str, state: int) -> None:
        self.instance_state.labels(upstream, instance).set(state)
        if state == OPEN:
            self.instance_ejections.labels(upstream, instance).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
