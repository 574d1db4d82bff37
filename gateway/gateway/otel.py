"""The gateway's own span in OpenTelemetry traces, exported only when tracing is configured.

The gateway always speaks W3C ``traceparent`` (``tracing.py``). With
``OTEL_EXPORTER_OTLP_ENDPOINT`` set, each request also becomes a SERVER span: it continues the
client's trace when there is one, and its ids replace the gateway's own in the ``traceparent``
sent upstream, so a service's spans are children of the gateway's and Jaeger shows the whole
path. Off (the default, and in the benchmark), nothing here runs on the hot path.
"""

from __future__ import annotations

from opentelemetry import trace as otel
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.tracing import Trace

_PROPAGATOR = TraceContextTextMapPropagator()


class RequestSpans:
    def __init__(self, tracer_provider: otel.TracerProvider | None = None) -> None:
        self.tracer = otel.get_tracer("gateway", tracer_provider=tracer_provider)

    def start(self, trace: Trace, incoming: bytes | None, method: str, path: str) -> Span:
        """Start the request's span and make ``trace`` carry its ids upstream."""
        carrier = (
            {"traceparent": incoming.decode("latin-1")} if trace.continued and incoming else {}
        )
        span = self.tracer.start_span(
            f"{method} {path}",
            context=_PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        ids = span.get_span_context()
        trace.trace_id = f"{ids.trace_id:032x}"
        trace.span_id = f"{ids.span_id:016x}"
        trace.traceparent = f"00-{trace.trace_id}-{trace.span_id}-{int(ids.trace_flags):02x}"
        return span

    def finish(self, span: Span, route: str | None, upstream: str | None, status: int) -> None:
        if route:
            span.set_attribute("http.route", route)
        if upstream:
            span.set_attribute("gateway.upstream", upstream)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
