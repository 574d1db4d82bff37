"""The event contract and the AsyncAPI document made from it and from the topology."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest

from msh_events import Event, InvalidEnvelope
from msh_events.asyncapi import asyncapi_document, message_key
from msh_events.celery_app import EVENT_TASK_NAME
from msh_events.contract import CONTRACT, OrderPlaced, check, schema_of
from msh_events.topology import PRODUCERS, SUBSCRIPTIONS

# The official AsyncAPI 3.0.0 JSON Schema (npm @asyncapi/specs, a devDependency of the SPA).
ASYNCAPI_SCHEMA = (
    Path(__file__).resolve().parents[2]
    / "frontend/node_modules/@asyncapi/specs/schemas/3.0.0-without-$id.json"
)

ORDER_ID = str(uuid.uuid4())
PLACED = {"order_id": ORDER_ID, "lines": [{"product_id": "mug-1", "quantity": 2}]}


def placed(data: object, version: int = 1) -> Event:
    return Event(type="order.placed", data=data, producer="orders", version=version)  # type: ignore[arg-type]


def test_valid_data_passes_and_is_parsed():
    parsed = check(placed(PLACED))
    assert isinstance(parsed, OrderPlaced)
    assert str(parsed.order_id) == ORDER_ID and parsed.lines[0].quantity == 2


def test_fields_a_consumer_does_not_know_are_ignored():
    assert isinstance(check(placed({**PLACED, "coupon": "NEW10"})), OrderPlaced)


@pytest.mark.parametrize(
    "data",
    [
        {"lines": PLACED["lines"]},  # no order_id
        {**PLACED, "order_id": "o-1"},  # not a UUID
        {**PLACED, "lines": []},  # nothing to reserve
        {**PLACED, "lines": [{"product_id": "mug-1", "quantity": 0}]},
        {**PLACED, "lines": [{"product_id": "$where", "quantity": 1}]},
        {**PLACED, "lines": "mug-1"},
    ],
)
def test_data_that_breaks_the_contract_is_an_invalid_envelope(data):
    with pytest.raises(InvalidEnvelope, match=r"order\.placed v1 data"):
        check(placed(data))


def test_an_unknown_version_of_a_known_type_is_refused_and_an_unknown_type_is_left_alone():
    with pytest.raises(InvalidEnvelope, match="version 2 is not in the contract"):
        check(placed(PLACED, version=2))
    assert check(Event(type="coupon.issued", data={}, producer="shop")) is None


def test_every_event_in_the_topology_has_a_schema_and_one_producer():
    assert {event_type for event_type, _ in CONTRACT} == set(SUBSCRIPTIONS) == set(PRODUCERS)
    for event_type, version in CONTRACT:
        schema = schema_of(event_type, version)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["description"], event_type


def test_the_asyncapi_document_is_valid_asyncapi_3():
    assert ASYNCAPI_SCHEMA.exists(), "run `npm ci` in frontend/ (it provides @asyncapi/specs)"
    validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    document = asyncapi_document()
    assert [error.message for error in validator.iter_errors(document)] == []
    broken = asyncapi_document()
    broken["operations"][next(iter(broken["operations"]))]["action"] = "publish"  # AsyncAPI 2
    assert list(validator.iter_errors(broken))  # the check can fail


def test_the_document_says_what_the_topology_says():
    """One send and one receive per (event, consumer queue), and nothing else."""
    document = asyncapi_document()
    expected: dict[str, tuple[str, str]] = {}
    for (event_type, version), _ in CONTRACT.items():
        key = message_key(event_type, version)
        for queue in SUBSCRIPTIONS[event_type]:
            expected[f"{PRODUCERS[event_type]}_sends_{key}_to_{queue}"] = ("send", queue)
            expected[f"{queue}_receives_{key}"] = ("receive", queue)
    assert {
        op_id: (op["action"], op["channel"]["$ref"].removeprefix("#/channels/"))
        for op_id, op in document["operations"].items()
    } == expected
    queues = {queue for queues in SUBSCRIPTIONS.values() for queue in queues}
    assert set(document["channels"]) == queues
    assert f"`{EVENT_TASK_NAME}`" in document["info"]["description"]


def test_each_message_payload_is_the_envelope_around_the_events_data_schema():
    document = asyncapi_document()
    schemas = document["components"]["schemas"]
    message = document["components"]["messages"]["order_placed_v1"]
    envelope, specific = message["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/EventEnvelope"}
    assert specific["properties"]["type"] == {"const": "order.placed"}
    assert specific["properties"]["producer"] == {"const": "orders"}
    assert specific["properties"]["data"] == {"$ref": "#/components/schemas/OrderPlaced"}
    # A real envelope validates against the message's payload, resolved in the document.
    resolver_document = {"components": {"schemas": schemas}, **message["payload"]}
    jsonschema.validate(placed(PLACED).to_dict(), resolver_document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(placed({"lines": []}).to_dict(), resolver_document)
