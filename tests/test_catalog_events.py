"""The catalog's side of the saga with its real worker (which relays what its handlers wrote): an
order.placed put on the catalog queue reserves stock and publishes stock.reserved to the orders
queue; a duplicate reserves nothing more; order.cancelled releases the stock once."""

from __future__ import annotations

import uuid

import pytest
from helpers import bearer, eventually, logged, staff_token
from pymongo import MongoClient

from devstack.waiting import queued
from msh_events import Event
from msh_events.celery_app import EVENT_TASK_NAME, make_celery_app


def for_order(envelopes: list[dict], order_id: str) -> list[dict]:
    return [e for e in envelopes if e["data"].get("order_id") == order_id]


def send_to_catalog(stack, event: Event) -> None:
    """What the orders service's relay does: a message for the catalog's event task."""
    app = make_celery_app("test", stack.env["REDIS_URL"])
    app.send_task(EVENT_TASK_NAME, args=[event.to_dict()], queue="catalog")


def consumed(stack, event: Event, outcome: str) -> bool:
    """The catalog's worker logged ``event`` as consumed with ``outcome``."""
    return logged(stack, "catalog-worker", "event consumed", event_id=event.id, outcome=outcome) > 0


def catalog_db(stack):
    client = MongoClient(stack.env["MONGO_URL"], tz_aware=True)
    return client, client[stack.env.get("CATALOG_MONGO_DB", "catalog")]


@pytest.fixture
def product(stack, client) -> dict:
    staff = staff_token(client, stack)
    sku = f"EVT-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/catalog/products",
        json={"sku": sku, "name": f"Event lamp {sku}", "price": "30.00", "category": "home"},
        headers=bearer(staff),
    )
    assert response.status_code == 201, response.text
    product = response.json()
    response = client.post(
        f"/api/catalog/products/{product['id']}/stock", json={"quantity": 5}, headers=bearer(staff)
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def orders_worker_paused(stack):
    """The orders worker stopped, so what the catalog publishes stays in the orders queue."""
    worker = stack.processes.get("orders-worker")
    if worker is None:  # no orders service in this stack: nothing consumes the queue
        yield
        return
    worker.stop()
    try:
        yield
    finally:
        stack.restart("orders-worker")


def stock(client, product_id: str) -> tuple[int, int, int]:
    body = client.get(f"/api/catalog/products/{product_id}").json()
    return body["available"], body["reserved"], body["received"]


def test_order_placed_reserves_stock_and_publishes_stock_reserved(
    stack, client, product, orders_worker_paused
):
    order_id = str(uuid.uuid4())
    placed = Event(
        type="order.placed",
        producer="orders",
        data={"order_id": order_id, "lines": [{"product_id": product["id"], "quantity": 2}]},
    )
    send_to_catalog(stack, placed)

    def announced():
        """stock.reserved for the order is in the orders queue"""
        return for_order(queued(stack.redis(), "orders"), order_id)

    [event] = eventually(announced, timeout=30)
    assert event["type"] == "stock.reserved" and event["producer"] == "catalog"
    assert event["data"]["lines"] == [{"product_id": product["id"], "quantity": 2}]
    assert stock(client, product["id"]) == (3, 2, 5)

    mongo, db = catalog_db(stack)
    try:
        decision = db.order_decisions.find_one({"_id": order_id})
        assert (decision["state"], decision["cause"]) == ("reserved", placed.id)
        eventually(lambda: db.order_decisions.find_one({"_id": order_id})["announced"] == "sent")
    finally:
        mongo.close()

    # The same message again: nothing more is reserved; the same decision is said again.
    send_to_catalog(stack, placed)
    again = eventually(lambda: len(announced()) == 2 and announced(), timeout=30)
    assert {message["id"] for message in again} == {event["id"]}
    assert stock(client, product["id"]) == (3, 2, 5)

    # Cancelled (twice): released exactly once.
    cancelled = [
        Event(type="order.cancelled", producer="orders", data={"order_id": order_id})
        for _ in range(2)
    ]
    for event in cancelled:
        send_to_catalog(stack, event)
    eventually(lambda: all(consumed(stack, event, "handled") for event in cancelled), timeout=30)
    assert stock(client, product["id"]) == (5, 0, 5)


def test_an_order_that_cannot_be_served_is_rejected_with_reasons(
    stack, client, product, orders_worker_paused
):
    order_id = str(uuid.uuid4())
    send_to_catalog(
        stack,
        Event(
            type="order.placed",
            producer="orders",
            data={
                "order_id": order_id,
                "lines": [
                    {"product_id": product["id"], "quantity": 1},
                    {"product_id": product["id"] + "-gone", "quantity": 1},
                ],
            },
        ),
    )
    [event] = eventually(
        lambda: [
            e for e in queued(stack.redis(), "orders") if e["data"].get("order_id") == order_id
        ],
        timeout=30,
    )
    assert event["type"] == "stock.rejected"
    assert event["data"]["reasons"] == [
        {
            "product_id": product["id"] + "-gone",
            "requested": 1,
            "available": 0,
            "code": "unknown_product",
        }
    ]
    assert stock(client, product["id"]) == (5, 0, 5)
