"""The event bus as an AsyncAPI 3 document, made from the code: the queues and who sends what
to them come from :mod:`.topology`, each message's payload from the envelope and the event's
data schema in :mod:`.contract`. Nothing here is written by hand, so the document cannot drift
from what the services do; the gateway serves it at ``/api/asyncapi.json``.
"""

from __future__ import annotations

from typing import Any

from .contract import CONTRACT, consumed_by
from .topology import PRODUCERS, SUBSCRIPTIONS

ASYNCAPI_VERSION = "3.0.0"
SCHEMAS = "#/components/schemas/"

_DESCRIPTION = """\
Every service owns one queue on the Redis broker, named after itself. A producer writes each
event to its transactional outbox in the same transaction as the change it announces; its relay
sends it, at least once, to the queue of every consumer. A consumer applies an event at most once
(it records the event id with the effect) and dead-letters an event whose data breaks its
schema. Each message is a Celery task (`msh.events.handle`) whose one argument is the envelope
described here.

Consumers ignore fields they do not know. Removing or changing a field is a new `version` of the
event type, which consumers learn before producers send it."""


def message_key(event_type: str, version: int) -> str:
    """``order.placed`` v1 -> ``order_placed_v1`` (a key every AsyncAPI map accepts)."""
    return f"{event_type.replace('.', '_')}_v{version}"


def asyncapi_document(api_version: str = "1.0.0") -> dict[str, Any]:
    """The whole document (plain JSON types)."""
    schemas: dict[str, Any] = {"EventEnvelope": _envelope_schema()}
    messages: dict[str, Any] = {}
    for (event_type, version), model in sorted(CONTRACT.items()):
        key = message_key(event_type, version)
        data = model.model_json_schema(ref_template=SCHEMAS + "{model}")
        schemas.update(data.pop("$defs", {}))
        schemas[model.__name__] = data
        messages[key] = _message(event_type, version, model.__name__, model.__doc__ or "")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "MicroServiceHub events",
            "version": api_version,
            "description": _DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "redis:6379",
                "protocol": "redis",
                "description": "The Celery broker (`CELERY_BROKER_URL`).",
            }
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {"messages": messages, "schemas": schemas},
    }


def _queues() -> list[str]:
    return sorted({queue for queues in SUBSCRIPTIONS.values() for queue in queues})


def _channels() -> dict[str, Any]:
    return {
        queue: {
            "address": queue,
            "title": f"The {queue} queue",
            "description": f"What {queue} consumes; only its workers read it.",
            "servers": [{"$ref": "#/servers/broker"}],
            "messages": {
                message_key(*key): {"$ref": f"#/components/messages/{message_key(*key)}"}
                for key in consumed_by(queue)
            },
        }
        for queue in _queues()
    }


def _operations() -> dict[str, Any]:
    """A send by the producer and a receive by the consumer, per event and consumer queue."""
    operations: dict[str, Any] = {}
    for queue in _queues():
        for event_type, version in consumed_by(queue):
            key = message_key(event_type, version)
            message = [{"$ref": f"#/channels/{queue}/messages/{key}"}]
            producer = PRODUCERS[event_type]
            operations[f"{producer}_sends_{key}_to_{queue}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{queue}"},
                "title": f"{producer} sends {event_type} (v{version}) to {queue}",
                "messages": message,
            }
            operations[f"{queue}_receives_{key}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{queue}"},
                "title": f"{queue} handles {event_type} (v{version})",
                "messages": message,
            }
    return operations


def _message(event_type: str, version: int, data_schema: str, summary: str) -> dict[str, Any]:
    return {
        "name": event_type,
        "title": f"{event_type} v{version}",
        "summary": " ".join(summary.split()),
        "contentType": "application/json",
        "payload": {
            "allOf": [
                {"$ref": SCHEMAS + "EventEnvelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "version": {"const": version},
                        "producer": {"const": PRODUCERS[event_type]},
                        "data": {"$ref": SCHEMAS + data_schema},
                    },
                },
            ]
        },
    }


def _envelope_schema() -> dict[str, Any]:
    """:class:`~msh_events.envelope.Event`'s wire form."""
    return {
        "type": "object",
        "title": "EventEnvelope",
        "description": "The one shape of every event; `id` is unique per event and is how "
        "consumers skip a redelivery.",
        "required": ["id", "type", "version", "occurred_at", "producer", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"type": "string", "examples": ["order.placed"]},
            "version": {"type": "integer", "minimum": 1},
            "occurred_at": {"type": "string", "format": "date-time"},
            "producer": {"type": "string", "examples": ["orders"]},
            "data": {"type": "object"},
            "traceparent": {
                "type": ["string", "null"],
                "description": "W3C trace context of the request that caused the event.",
            },
        },
    }
