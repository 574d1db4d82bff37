"""Producers keep the event contract: every event the three services have written to their
outboxes (in this test's journey and every earlier test of the session) is an envelope whose data
validates against its schema, from the producer the topology names, with no field the schema
does not know; the journey makes every event type there is. The AsyncAPI document is served
through the gateway, and browsable beside the API reference."""

from __future__ import annotations

from typing import Any

import jsonschema
from helpers import (
    delete_account,
    eventually,
    new_product,
    orders_db,
    place_order,
    shopper,
    staff_token,
    wait_settled,
)
from pymongo import MongoClient

from msh_events import Event
from msh_events.asyncapi import asyncapi_document, message_key
from msh_events.contract import CONTRACT, check, schema_of
from msh_events.topology import PRODUCERS


def outbox_envelopes(stack) -> list[dict[str, Any]]:
    """Every envelope in mainapp's, orders' and the catalog's outboxes."""
    with stack.mainapp_db() as db:
        envelopes = [row[0] for row in db.execute("SELECT envelope FROM eventbus_outboxevent")]
    with orders_db(stack) as db:
        envelopes += [row[0] for row in db.execute("SELECT envelope FROM outbox_events")]
    mongo = MongoClient(stack.env["MONGO_URL"])
    try:
        catalog = mongo[stack.env.get("CATALOG_MONGO_DB", "catalog")]
        announced = catalog.order_decisions.find({"event_id": {"$exists": True}}, {"event": 1})
        envelopes += [doc["event"] for doc in announced]
    finally:
        mongo.close()
    return envelopes


def one_of_each_event(client, stack) -> None:
    """A journey through every event type: registered, an order confirmed then cancelled, one
    rejected for want of stock, the account deleted."""
    _, token = shopper(client)  # user.registered
    product = new_product(client, staff_token(client, stack), stock=1)
    placed = place_order(client, token, [(product["id"], 1)])  # order.placed
    assert placed.status_code == 202, placed.text
    confirmed = wait_settled(client, token, placed.json()["id"])  # stock.reserved
    assert confirmed["status"] == "confirmed"  # order.confirmed
    too_many = place_order(client, token, [(product["id"], 5)])
    assert too_many.status_code == 202, too_many.text
    rejected = wait_settled(client, token, too_many.json()["id"])  # stock.rejected
    assert rejected["status"] == "rejected"  # order.rejected
    cancel = client.post(
        f"/api/orders/{confirmed['id']}/cancel", headers={"Authorization": f"Bearer {token}"}
    )
    assert cancel.status_code == 200, cancel.text  # order.cancelled
    assert delete_account(client, token).status_code == 204  # user.deleted


def test_every_producer_keeps_the_contract(client, stack):
    one_of_each_event(client, stack)

    def every_type_written() -> list[dict[str, Any]] | None:
        envelopes = outbox_envelopes(stack)
        return envelopes if {e["type"] for e in envelopes} >= set(PRODUCERS) else None

    envelopes = eventually(every_type_written)
    seen: set[tuple[str, str, int]] = set()
    for envelope in envelopes:
        event = Event.from_dict(envelope)
        assert check(event) is not None, envelope  # a known type and version, valid data
        assert event.producer == PRODUCERS[event.type], envelope
        known = schema_of(event.type, event.version)["properties"]
        assert set(event.data) <= set(known), envelope  # nothing undocumented
        seen.add((event.producer, event.type, event.version))
    assert seen == {(PRODUCERS[t], t, v) for t, v in CONTRACT}
    # The served document describes them too: each validates against its message's payload.
    document = client.get("/api/asyncapi.json").json()
    for envelope in envelopes:
        message = document["components"]["messages"][message_key(envelope["type"], 1)]
        jsonschema.validate(envelope, {**message["payload"], "components": document["components"]})


def test_the_asyncapi_document_is_served_through_the_gateway(client):
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == asyncapi_document()
    page = client.get("/api/docs/events")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for event_type, version in CONTRACT:
        assert f"<code>{event_type} v{version}</code>" in page.text
    assert 'href="/api/asyncapi.json"' in page.text and 'href="/api/docs"' in page.text
    # The API reference points at it.
    reference = client.get("/api/openapi.json").json()
    assert "/api/docs/events" in reference["info"]["description"]
