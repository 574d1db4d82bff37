"""msh_common.tracing: off without an endpoint; the trace crosses the outbox in the envelope."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from msh_common import tracing
from msh_events.envelope import Event


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def test_tracing_is_off_without_an_endpoint() -> None:
    assert tracing.configure_tracing("unit", {}) is False
    assert tracing.configure_tracing("unit", {"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}) is False
    assert tracing.instrument("unit", "celery", environ={}) is False
    assert Event(type="t", data={}, producer="unit").traceparent is None


def test_the_consumer_continues_the_producers_trace_and_links_to_it(spans) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("checkout") as producer:
        event = Event(type="order.placed", data={}, producer="orders")
    context = producer.get_span_context()
    assert event.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    # an explicit traceparent (the gateway's header) is kept as given
    given = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    assert Event(type="t", data={}, producer="orders", traceparent=given).traceparent == given

    received = Event.from_dict(event.to_dict())
    with tracing.consumer_span("catalog", received):
        pass
    consumer = spans.get_finished_spans()[-1]
    assert consumer.name == "order.placed process"
    assert consumer.kind == trace.SpanKind.CONSUMER
    assert consumer.context.trace_id == context.trace_id
    assert consumer.parent.span_id == context.span_id
    assert [link.context.span_id for link in consumer.links] == [context.span_id]
    assert consumer.attributes["messaging.destination.name"] == "catalog"
