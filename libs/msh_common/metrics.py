"""Prometheus metrics shared by every service, worker and relay (prometheus-client).

* Counters and histograms are updated where things happen: HTTP requests (each framework's
  small hook in its service), events handled per type and outcome (``msh_events.tasks``),
  events published and their publish lag (``msh_events.outbox``).
* Gauges that describe stored state (outbox backlog, dead letters, queue depth) are computed at
  scrape time by callables a process registers with :func:`register_gauges`; a callable that
  fails (database down) leaves its gauge out of that scrape instead of failing the scrape.
* Web processes serve ``GET /metrics`` with :func:`render`; workers and relays, which have no
  HTTP server, call :func:`start_metrics_server`, which listens on ``METRICS_PORT`` only when it is
  set (compose sets 9100; natively it is unset and nothing listens).
* Under gunicorn or several uvicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (compose does) so
  that ``/metrics`` adds up every process of the server.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: half the lines, nothing the dashboard uses
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MULTIPROC_DIR:  # the client writes its value files there from the first metric on
    os.makedirs(_MULTIPROC_DIR, exist_ok=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

HTTP_REQUESTS = Counter(
    "msh_http_requests",
    "HTTP requests answered, by service, method, route template and status.",
    ("service", "method", "route", "status"),
)
HTTP_DURATION = Histogram(
    "msh_http_request_duration_seconds",
    "Time to answer an HTTP request (to the response headers for streams).",
    ("service", "method", "route"),
    buckets=_LATENCY_BUCKETS,
)
EVENTS_HANDLED = Counter(
    "msh_events_handled",
    "Events taken from the queue, by consuming service, type and outcome "
    "(handled, duplicate, ignored, retried, dead_lettered).",
    ("service", "type", "outcome"),
)
EVENTS_PUBLISHED = Counter(
    "msh_outbox_published",
    "Events published from the outbox to the broker, by producer and type.",
    ("service", "type"),
)
PUBLISH_LAG = Histogram(
    "msh_outbox_publish_lag_seconds",
    "From an event's occurred_at (written in the outbox) to its publication by the relay.",
    ("service",),
    buckets=_LAG_BUCKETS,
)

GaugeSource = Callable[[], float | int | Mapping[str, float | int]]

_GAUGES: dict[str, tuple[str, str, GaugeSource]] = {}
_LOCK = threading.Lock()

GAUGE_HELP = {
    "msh_outbox_backlog": "Events written to the outbox and not yet published.",
    "msh_dead_letters": "Dead-lettered messages not yet replayed.",
    "msh_queue_depth": "Messages waiting in a service's broker queue.",
}


class _ScrapeTimeGauges(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        with _LOCK:
            sources = list(_GAUGES.items())
        families: dict[str, GaugeMetricFamily] = {}
        for key, (name, service, source) in sources:
            try:
                value = source()
            except Exception:
                logger.debug("metric source %s failed", key, exc_info=True)
                continue
            label = "queue" if name == "msh_queue_depth" else "service"
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(
                    name, GAUGE_HELP.get(name, name), labels=[label]
                )
            if isinstance(value, Mapping):
                for sub, number in value.items():
                    family.add_metric([sub], float(number))
            else:
                family.add_metric([service], float(value))
        yield from families.values()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


_SCRAPE_GAUGES = _ScrapeTimeGauges()
REGISTRY.register(_SCRAPE_GAUGES)


def register_gauges(service: str, **sources: GaugeSource | None) -> None:
    """Gauges computed at scrape time: ``outbox_backlog=store.backlog`` becomes
    ``msh_outbox_backlog{service=...}``; ``queue_depth`` may return ``{queue: depth}``."""
    with _LOCK:
        for name, source in sources.items():
            if source is not None:
                _GAUGES[f"{service}:{name}"] = (f"msh_{name}", service, source)


def observe_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
    HTTP_DURATION.labels(service, method, route).observe(seconds)


def _registry() -> CollectorRegistry:
    if not _MULTIPROC_DIR:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=_MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    registry.register(_SCRAPE_GAUGES)
    return registry


def render() -> tuple[bytes, str]:
    """The exposition of this process (or of every process, in multiprocess mode)."""
    return generate_latest(_registry()), CONTENT_TYPE


def start_metrics_server(environ: Mapping[str, str] = os.environ) -> int | None:
    """Serve ``/metrics`` on ``METRICS_PORT`` (workers, relays); nothing when it is unset."""
    port = environ.get("METRICS_PORT", "").strip()
    if not port:
        return None
    start_http_server(int(port), addr=environ.get("METRICS_ADDR", "0.0.0.0"))  # noqa: S104
    logger.info("metrics served", extra={"port": int(port)})
    return int(port)


def redis_queue_depth(broker_url: str, *queues: str) -> GaugeSource:
    """A gauge source: how many messages wait in each named Redis list (kombu's queues)."""
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)

    def depth() -> dict[str, int]:
        pipe = client.pipeline()
        for queue in queues:
            pipe.llen(queue)
        return dict(zip(queues, pipe.execute(), strict=True))

    return depth
