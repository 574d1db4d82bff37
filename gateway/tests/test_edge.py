"""What the edge adds and removes: traces, security and CORS headers, trusted proxies,
per-route body caps, metrics."""

from __future__ import annotations

import re

import pytest

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _sent(reply) -> dict[str, list[str]]:
    pairs = reply.json()["headers"]
    return {name: [v for n, v in pairs if n == name] for name, _ in pairs}


def test_a_trace_is_started_when_the_client_has_none(gateway):
    sent = _sent(gateway.request("GET", "/api/trace"))
    (traceparent,) = sent["traceparent"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", traceparent)
    assert "tracestate" not in sent


def test_a_valid_client_trace_is_continued(gateway):
    sent = _sent(
        gateway.request(
            "GET", "/api/trace", [("traceparent", TRACEPARENT), ("tracestate", "vendor=1")]
        )
    )
    (traceparent,) = sent["traceparent"]
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "01")
    assert span_id != "b7ad6b7169203331"  # the gateway's own span
    assert sent["tracestate"] == ["vendor=1"]


@pytest.mark.parametrize(
    "bad",
    [
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "garbage",
    ],
)
def test_an_invalid_client_trace_is_replaced(gateway, bad):
    sent = _sent(
        gateway.request("GET", "/api/trace", [("traceparent", bad), ("tracestate", "a=1")])
    )
    assert sent["traceparent"][0].split("-")[1] not in bad
    assert "tracestate" not in sent


def test_security_headers_are_added(gateway):
    for reply in (gateway.request("GET", "/api/sec"), gateway.request("GET", "/nope")):
        assert reply.header("x-content-type-options") == "nosniff"
        assert reply.header("x-frame-options") == "DENY"
        assert reply.header("referrer-policy") == "no-referrer"
        assert reply.header("content-security-policy") == "frame-ancestors 'none'"
        assert reply.header("strict-transport-security") is None  # plain HTTP


def test_a_services_own_security_headers_win(gateway):
    # The Django admin sets its own X-Frame-Options and Referrer-Policy.
    reply = gateway.request("GET", "/raw/framed")
    assert reply.header_all("x-frame-options") == ["SAMEORIGIN"]
    assert reply.header_all("referrer-policy") == ["same-origin"]
    assert reply.header("x-content-type-options") == "nosniff"


def test_body_cap_per_route(gateway):
    assert gateway.request("POST", "/api/small-bodies/x", body=b"0123456789").status == 200
    reply = gateway.request("POST", "/api/small-bodies/x", body=b"0123456789a")
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"


def test_metrics_count_requests_and_upstream_latency(gateway):
    gateway.request("GET", "/api/counted")
    text = gateway.request("GET", "/metrics").body.decode()
    assert re.search(r'gateway_requests_total\{method="GET",route="/api",status="200"\} \d', text)
    assert 'gateway_upstream_latency_seconds_bucket{le="0.005",upstream="echo"}' in text
    assert 'gateway_circuit_breaker_state{upstream="echo"} 0.0' in text
    assert "# TYPE gateway_rate_limit_rejections_total counter" in text


# --------------------------------------------------------------------------- trusted proxies


@pytest.fixture(scope="module")
def proxied(start_gateway, test_gateway_env):
    return start_gateway(
        {
            **test_gateway_env,
            "TRUSTED_PROXIES": "127.0.0.2/32, 10.0.0.0/8",
            "CORS_ALLOWED_ORIGINS": "https://shop.example, http://localhost:5173/",
            "METRICS_ALLOWED_NETWORKS": "127.0.0.2/32",
        },
        ["--no-proxy-headers"],  # as the launcher runs it
    )


@pytest.mark.parametrize(
    ("source", "forwarded_for", "client"),
    [
        ("127.0.0.2", "6.6.6.6", "6.6.6.6"),  # a trusted proxy names the client
        ("127.0.0.2", "6.6.6.6, 10.1.2.3", "6.6.6.6"),  # through two trusted proxies
        ("127.0.0.2", "10.1.2.3, 7.7.7.7", "7.7.7.7"),  # the first untrusted hop from the right
        ("127.0.0.2", "not-an-ip", "127.0.0.2"),
        ("127.0.0.3", "6.6.6.6", "127.0.0.3"),  # anyone else: spoofing ignored
    ],
)
def test_forwarded_for_is_believed_from_trusted_proxies_only(
    proxied, source, forwarded_for, client
):
    sent = _sent(
        proxied.request("GET", "/api/fwd", [("X-Forwarded-For", forwarded_for)], source=source)
    )
    assert sent["x-forwarded-for"] == [client]


def test_scheme_and_host_from_a_trusted_proxy(proxied):
    reply = proxied.request(
        "GET",
        "/api/fwd",
        [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "shop.example")],
        source="127.0.0.2",
    )
    sent = _sent(reply)
    assert sent["x-forwarded-proto"] == ["https"]
    assert sent["x-forwarded-host"] == ["shop.example"]
    assert reply.header("strict-transport-security").startswith("max-age=")
    spoofed = _sent(
        proxied.request("GET", "/api/fwd", [("X-Forwarded-Proto", "https")], source="127.0.0.3")
    )
    assert spoofed["x-forwarded-proto"] == ["http"]


def test_metrics_are_for_allowed_networks_only(proxied):
    assert proxied.request("GET", "/metrics", source="127.0.0.3").status == 404
    assert proxied.request("GET", "/metrics", source="127.0.0.2").status == 200


# --------------------------------------------------------------------------- CORS


def test_preflight_from_an_allowed_origin_is_answered_by_the_gateway(proxied, echo):
    reply = proxied.request(
        "OPTIONS",
        "/api/readonly/x",
        [
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization, content-type"),
        ],
    )
    assert reply.status == 204
    assert reply.header("access-control-allow-origin") == "https://shop.example"
    assert reply.header("access-control-allow-methods") == "GET, HEAD"
    assert reply.header("access-control-allow-headers") == "authorization, content-type"
    assert reply.header("access-control-allow-credentials") == "true"
    assert reply.header("access-control-max-age") == "600"


def test_preflight_from_another_origin_is_refused(proxied):
    reply = proxied.request(
        "OPTIONS",
        "/api/x",
        [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")],
    )
    assert reply.status == 403
    assert reply.json()["error"]["code"] == "cors_forbidden"
    assert reply.header("access-control-allow-origin") is None


def test_responses_to_allowed_origins_carry_cors_headers(proxied):
    reply = proxied.request("GET", "/api/x", [("Origin", "http://localhost:5173")])
    assert reply.header("access-control-allow-origin") == "http://localhost:5173"
    assert "X-Request-ID" in reply.header("access-control-expose-headers")
    assert "Origin" in reply.header_all("vary")
    other = proxied.request("GET", "/api/x", [("Origin", "https://evil.example")])
    assert other.header("access-control-allow-origin") is None
    # The gateway owns CORS: a service's own (here "*") is dropped.
    raw = proxied.request("GET", "/raw/framed", [("Origin", "https://evil.example")])
    assert raw.header("access-control-allow-origin") is None


def test_without_an_allow_list_no_cors_headers_are_added(gateway):
    reply = gateway.request("GET", "/api/x", [("Origin", "https://shop.example")])
    assert reply.header("access-control-allow-origin") is None
    assert reply.header("vary") is None
