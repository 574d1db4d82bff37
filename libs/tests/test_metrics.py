"""msh_common.metrics: scrape-time gauges, event counters, the opt-in metrics port."""

from __future__ import annotations

import socket
import urllib.request

from msh_common import metrics
from msh_events.envelope import Event
from msh_events.outbox import OutboxRelay


def text() -> str:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return body.decode()


def test_scrape_time_gauges_and_a_failing_source_is_left_out() -> None:
    def broken() -> int:
        raise ConnectionError("database down")

    metrics.register_gauges("unit", outbox_backlog=lambda: 3, dead_letters=broken)
    metrics.register_gauges("unit", queue_depth=lambda: {"unit": 7})
    exposition = text()
    assert 'msh_outbox_backlog{service="unit"} 3.0' in exposition
    assert 'msh_queue_depth{queue="unit"} 7.0' in exposition
    assert 'msh_dead_letters{service="unit"}' not in exposition


def test_request_and_publish_metrics() -> None:
    metrics.observe_request("unit", "GET", "/things/{id}", 200, 0.01)
    assert (
        'msh_http_requests_total{method="GET",route="/things/{id}",service="unit",status="200"} 1.0'
        in text()
    )

    class Store:
        def __init__(self) -> None:
            self.pending = [Event(type="unit.happened", data={}, producer="unit")]

        def claim(self, limit, *, min_age_seconds=0.0):
            from contextlib import contextmanager

            @contextmanager
            def block():
                events, self.pending = self.pending, []
                yield events

            return block()

        def backlog(self) -> int:
            return len(self.pending)

    published = []
    assert OutboxRelay(Store(), type("P", (), {"publish": published.append})()).relay_pending()
    assert 'msh_outbox_published_total{service="unit",type="unit.happened"} 1.0' in text()
    assert 'msh_outbox_publish_lag_seconds_count{service="unit"} 1.0' in text()


def test_metrics_port_is_off_unless_configured() -> None:
    assert metrics.start_metrics_server({}) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert metrics.start_metrics_server({"METRICS_PORT": str(port), "METRICS_ADDR": "127.0.0.1"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert b"msh_http_requests" in response.read()
