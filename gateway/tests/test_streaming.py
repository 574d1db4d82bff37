"""Responses are streamed to the client as they arrive, not buffered."""

from __future__ import annotations

import http.client
import time
import uuid

import pytest


def test_server_sent_events_arrive_live(gateway):
    # The upstream sends one event, waits 1 s, then sends another and finishes.
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    started = time.monotonic()
    conn.request("GET", "/api/events/stream", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("content-type") == "text/event-stream"
    first = response.read1(65536)
    first_at = time.monotonic() - started
    rest = response.read()
    done_at = time.monotonic() - started
    conn.close()

    assert first == b"data: one\n\n"
    assert rest == b"data: two\n\n"
    assert done_at >= 0.9
    assert first_at < 0.5, f"first event took {first_at:.2f}s: the response was buffered"


def test_client_disconnect_ends_the_upstream_stream(gateway, echo):
    # An endless event stream must not keep an upstream connection once the client left
    # (the route's 5 s timeout would end it otherwise, much later).
    path = f"/api/events/{uuid.uuid4().hex}/endless"
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.read1(65536) == b"data: one\n\n"
    response.close()
    conn.close()
    deadline = time.monotonic() + 2
    while path not in echo.disconnected:
        assert time.monotonic() < deadline, "the gateway kept reading the upstream stream"
        time.sleep(0.02)


@pytest.mark.parametrize("path", ["/raw/truncated", "/raw/truncated-chunked"])
def test_truncated_upstream_body_is_not_passed_off_as_complete(gateway, path):
    # The upstream sends 10 bytes of a longer body (by Content-Length or unterminated
    # chunked encoding) and hangs up: the client must see an incomplete response.
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200
    try:
        body = response.read()
    except http.client.IncompleteRead as exc:
        body = exc.partial
    else:
        raise AssertionError(f"complete response with body {body!r}")
    finally:
        conn.close()
    assert body == b"0123456789"
