"""The gateway's OpenTelemetry span: continues the client's trace and parents the upstream."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.otel import RequestSpans
from gateway.tracing import start_trace

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def spans_with_exporter() -> tuple[RequestSpans, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return RequestSpans(provider), exporter


def test_span_continues_the_client_trace_and_is_the_upstream_parent():
    spans, exporter = spans_with_exporter()
    incoming = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01".encode()
    trace = start_trace(incoming, None)

    span = spans.start(trace, incoming, "GET", "/api/users/me")
    spans.finish(span, "/api/users/", "mainapp", 200)

    [exported] = exporter.get_finished_spans()
    assert f"{exported.context.trace_id:032x}" == CLIENT_TRACE
    assert f"{exported.parent.span_id:016x}" == CLIENT_SPAN
    # what goes upstream names the gateway's exported span as the parent
    assert trace.traceparent == f"00-{CLIENT_TRACE}-{exported.context.span_id:016x}-01"
    assert exported.attributes["http.route"] == "/api/users/"
    assert exported.attributes["http.response.status_code"] == 200


def test_without_a_client_trace_the_gateway_span_is_the_root():
    spans, exporter = spans_with_exporter()
    trace = start_trace(None, None)
    span = spans.start(trace, None, "POST", "/api/orders")
    spans.finish(span, "/api/orders/", "orders", 502)

    [exported] = exporter.get_finished_spans()
    assert exported.parent is None
    assert trace.traceparent.split("-")[1] == f"{exported.context.trace_id:032x}"
    assert exported.status.is_ok is False
