"""One JSON access-log line per request."""

from __future__ import annotations

import re
import time
import uuid


def _access_line(gateway, request_id: str) -> dict:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in gateway.log_records():
            if record.get("logger") == "gateway.access" and record.get("request_id") == request_id:
                return record
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {request_id}")


def test_proxied_request_is_logged(gateway):
    request_id = uuid.uuid4().hex
    gateway.request("POST", "/api/logged?secret=1", [("X-Request-ID", request_id)], b"{}")
    record = _access_line(gateway, request_id)
    assert record["method"] == "POST"
    assert record["path"] == "/api/logged"
    assert record["status"] == 200
    assert record["upstream"] == "echo"
    assert isinstance(record["duration_ms"], float | int) and record["duration_ms"] >= 0
    assert record["level"] == "INFO"
    assert record["environment"] == "test"
    assert record["route"] == "/api"
    assert record["client"] == "127.0.0.1"
    assert record["user_id"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
    assert "time" in record


def test_the_user_of_a_verified_token_is_logged(gateway, keyring):
    request_id = uuid.uuid4().hex
    token = keyring.token(sub="4242")
    reply = gateway.request(
        "GET", "/private/x", [("X-Request-ID", request_id), ("Authorization", f"Bearer {token}")]
    )
    assert reply.status == 200
    assert _access_line(gateway, request_id)["user_id"] == "4242"


def test_errors_are_logged_with_their_status(gateway):
    request_id = uuid.uuid4().hex
    gateway.request("GET", "/dead/x", [("X-Request-ID", request_id)])
    record = _access_line(gateway, request_id)
    assert record["status"] == 502
    assert record["upstream"] == "dead"
    # The warning explaining the 502 carries the same request id.
    warnings = [
        r
        for r in gateway.log_records()
        if r.get("request_id") == request_id
        and r.get("logger") == "gateway.proxy"
        and r["level"] == "WARNING"
    ]
    assert warnings
