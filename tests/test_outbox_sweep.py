"""Each service's worker sweeps its outbox: an event left pending (its process died between the
commit and the after-commit relay; Redis was down) leaves within a few sweep rounds, with no
relay process running anywhere."""

from __future__ import annotations

import time
import uuid

from helpers import eventually, orders_db
from psycopg.types.json import Jsonb
from pymongo import MongoClient

from msh_events import Event


def cancellation(producer: str) -> Event:
    """An ``order.cancelled`` for an order nobody knows: every consumer shrugs it off."""
    return Event(type="order.cancelled", data={"order_id": str(uuid.uuid4())}, producer=producer)


def test_no_relay_process_runs(stack):
    assert [name for name in stack.processes if "relay" in name] == []


def left_in_sql_outbox(db, table: str, event: Event) -> None:
    """Write ``event`` straight into ``table`` (no process hands it to a relay), then wait for
    the service's worker to send it."""
    db.execute(
        f"INSERT INTO {table} (id, type, envelope, created_at) VALUES (%s, %s, %s, now())",  # noqa: S608 - our table names
        (event.id, event.type, Jsonb(event.to_dict())),
    )

    def sent() -> bool:
        row = db.execute(f"SELECT sent_at FROM {table} WHERE id = %s", (event.id,))  # noqa: S608
        return row.fetchone()[0] is not None

    eventually(sent, timeout=30)


def test_an_event_left_in_orders_outbox_is_sent_by_the_orders_worker(stack):
    with orders_db(stack) as db:
        left_in_sql_outbox(db, "outbox_events", cancellation("orders"))


def test_an_event_left_in_mainapps_outbox_is_sent_by_mainapps_worker(stack):
    event = Event(type="user.deleted", data={"user_id": str(uuid.uuid4())}, producer="mainapp")
    with stack.mainapp_db() as db:
        left_in_sql_outbox(db, "eventbus_outboxevent", event)


def test_an_event_left_in_the_catalogs_outbox_is_sent_by_the_catalogs_worker(stack):
    event = Event(
        type="stock.rejected",
        data={"order_id": str(uuid.uuid4()), "reasons": []},
        producer="catalog",
    )
    order_id = event.data["order_id"]
    client = MongoClient(stack.env["MONGO_URL"], tz_aware=True)
    try:
        # the catalog's outbox: its decisions, each with the event announcing it
        decisions = client[stack.env.get("CATALOG_MONGO_DB", "catalog")]["order_decisions"]
        decisions.insert_one(
            {
                "_id": order_id,
                "state": "rejected",
                "event": event.to_dict(),
                "event_id": event.id,
                "announced": "pending",
                "claimed_until": 0.0,
                "enqueued_at": time.time(),
            }
        )
        eventually(lambda: decisions.find_one({"_id": order_id})["announced"] == "sent", timeout=30)
    finally:
        client.close()
