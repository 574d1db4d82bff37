"""``GET /health`` of every service: 200 only when each dependency answers (the gateway's own
/health and the launcher poll it), in one body shape::

    {"status": "ok", "service": "orders",
     "checks": {"database": {"status": "ok"}, "broker": {"status": "error", "error": "..."}}}

A service names its probes (callables that raise when the dependency is down); the framework
view only turns :func:`report` into its response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

PROBE_TIMEOUT_SECONDS = 2.0
Probe = Callable[[], object]


@dataclass(frozen=True, slots=True)
class HealthReport:
    status_code: int
    body: dict[str, Any]


def failure(probe: Probe) -> str | None:
    """What is wrong with a dependency (its probe's exception, shortened), None when fine."""
    try:
        probe()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def report(service: str, probes: Mapping[str, Probe]) -> HealthReport:
    """Run every probe; 200 when all pass, else 503, with each check's outcome."""
    errors = {name: failure(probe) for name, probe in probes.items()}
    healthy = all(error is None for error in errors.values())
    checks = {
        name: {"status": "ok"} if error is None else {"status": "error", "error": error}
        for name, error in errors.items()
    }
    body = {"status": "ok" if healthy else "unavailable", "service": service, "checks": checks}
    return HealthReport(200 if healthy else 503, body)


def redis_probe(url: str) -> Probe:
    """A probe that PINGs the broker (a Redis) at ``url``, on a connection of its own."""

    def ping() -> None:
        client = redis.Redis.from_url(
            url, socket_timeout=PROBE_TIMEOUT_SECONDS, socket_connect_timeout=PROBE_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()

    return ping
