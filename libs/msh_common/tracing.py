"""OpenTelemetry tracing for every service and worker: off unless configured.

:func:`configure_tracing` installs an SDK tracer provider exporting over OTLP/HTTP only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (compose's observability profile points it at the
collector; natively it is empty). Without it the OpenTelemetry API stays a no-op: no span is
recorded, nothing is sent, and the instrumentations are not even installed.

Across events the trace travels in the envelope's ``traceparent`` (W3C): a producer's event
carries the span that was active when it was written into the outbox (:func:`current_traceparent`),
and the consumer's span (:func:`consumer_span`) continues that trace and links to that span, so one
trace goes from the gateway through a service, the outbox and Celery to the consumer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

_PROPAGATOR = TraceContextTextMapPropagator()
_configured: str | None = None


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Export this process's spans over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

    Returns whether tracing is on, so that the caller installs its framework's instrumentation
    only then. Idempotent. ``OTEL_SERVICE_NAME`` overrides ``service``; the standard
    ``OTEL_*`` variables (headers, sampler, timeout) are honoured by the SDK.
    """
    global _configured
    if not tracing_enabled(environ):
        return False
    if _configured is not None:
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": name, "deployment.environment": environ.get("ENVIRONMENT", "")}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = name
    logger.info("tracing exported over OTLP", extra={"service": name})
    return True


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, or None when there is none (tracing off)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def consumer_span(service: str, event: Any) -> Iterator[trace.Span]:
    """A CONSUMER span around handling ``event``: in the producer's trace (from the envelope's
    ``traceparent``) and linked to the producer's span."""
    context = None
    links = []
    traceparent = getattr(event, "traceparent", None)
    if traceparent:
        context = _PROPAGATOR.extract({"traceparent": traceparent})
        producer = trace.get_current_span(context).get_span_context()
        if producer.is_valid:
            links.append(trace.Link(producer, {"msh.link": "producer"}))
    tracer = trace.get_tracer("msh_events")
    with tracer.start_as_current_span(
        f"{event.type} process",
        context=context,
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "celery",
            "messaging.operation.type": "process",
            "messaging.destination.name": service,
            "messaging.message.id": str(event.id),
            "msh.event.type": event.type,
            "msh.event.producer": getattr(event, "producer", ""),
        },
    ) as span:
        yield span


# The official instrumentations a service may ask for by name (each installed by its service's
# requirements): web frameworks that need the app object are instrumented by the service itself.
_INSTRUMENTORS = {
    "django": ("opentelemetry.instrumentation.django", "DjangoInstrumentor"),
    "celery": ("opentelemetry.instrumentation.celery", "CeleryInstrumentor"),
    "psycopg": ("opentelemetry.instrumentation.psycopg", "PsycopgInstrumentor"),
    "pymongo": ("opentelemetry.instrumentation.pymongo", "PymongoInstrumentor"),
    "urllib3": ("opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
}


def instrument(service: str, *names: str, environ: Mapping[str, str] = os.environ) -> bool:
    """:func:`configure_tracing`, then the named instrumentations; nothing when tracing is off."""
    if not configure_tracing(service, environ):
        return False
    import importlib

    for name in names:
        module, cls = _INSTRUMENTORS[name]
        instrumentor = getattr(importlib.import_module(module), cls)()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    return True
