import json
import uuid

import pytest

from msh_events import Event, InvalidEnvelope
from msh_events.topology import consumer_queues


def test_round_trip_through_json_keeps_every_field():
    event = Event(type="user.registered", data={"user_id": "42"}, producer="mainapp")
    parsed = Event.from_dict(json.loads(json.dumps(event.to_dict())))
    assert parsed == event
    assert set(event.to_dict()) == {
        "id",
        "type",
        "version",
        "occurred_at",
        "producer",
        "data",
        "traceparent",
    }
    uuid.UUID(event.id)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not a dict", "JSON object"),
        ({"type": "x", "producer": "p", "data": {}}, "missing keys: id"),
        ({"id": "nope", "type": "x", "producer": "p", "data": {}}, "UUID"),
        ({"id": str(uuid.uuid4()), "type": "", "producer": "p", "data": {}}, "type"),
        ({"id": str(uuid.uuid4()), "type": "x", "producer": "p", "data": []}, "data"),
        (
            {"id": str(uuid.uuid4()), "type": "x", "producer": "p", "data": {}, "version": "1"},
            "version",
        ),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(message, reason):
    with pytest.raises(InvalidEnvelope, match=reason):
        Event.from_dict(message)


def test_topology_routes_each_event_to_its_consumers():
    assert consumer_queues("user.deleted") == ("orders",)
    assert consumer_queues("order.placed") == ("catalog",)
    assert consumer_queues("no.such.event") == ()
