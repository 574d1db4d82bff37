"""Listing, reading and cancelling orders; whose orders a caller may see."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from orders.domain.status import OrderStatus
from orders.store import orders as order_store


@pytest.fixture
def place(client, products) -> Callable[..., dict]:
    """``place(user)``: one mug ordered by ``user``; the placed order."""

    def place(user, quantity: int = 1) -> dict:
        response = client.post(
            "/api/orders",
            json={"lines": [{"product_id": products["mug"], "quantity": quantity}]},
            headers=user.headers,
        )
        assert response.status_code == 202, response.text
        return response.json()

    return place


def set_status(db, order_id, status: OrderStatus, **values) -> None:
    with db.transaction() as session:
        assert order_store.transition(session, uuid.UUID(order_id), status, **values)


def test_own_orders_newest_first_paginated(client, place, user, new_user):
    ids = [place(user)["id"] for _ in range(5)]
    place(new_user())

    page = client.get("/api/orders?page=1&page_size=2", headers=user.headers).json()
    assert page["total"] == 5 and page["page_size"] == 2
    assert [o["id"] for o in page["items"]] == ids[::-1][:2]
    last = client.get("/api/orders?page=3&page_size=2", headers=user.headers).json()
    assert [o["id"] for o in last["items"]] == [ids[0]]


def test_page_size_is_capped(client, user, settings):
    page = client.get("/api/orders?page_size=1000", headers=user.headers).json()
    assert page["page_size"] == settings.orders_page_size_max


def test_filter_by_status(client, place, user, db):
    pending, confirmed = place(user)["id"], place(user)["id"]
    set_status(db, confirmed, OrderStatus.CONFIRMED)
    page = client.get("/api/orders?status=confirmed", headers=user.headers).json()
    assert [o["id"] for o in page["items"]] == [confirmed]
    assert pending


def test_staff_may_list_everyones_orders_customers_may_not(
    client, place, user, staff, assert_error
):
    place(user)
    assert_error(
        client.get("/api/orders?scope=all", headers=user.headers), 403, "permission_denied"
    )
    page = client.get("/api/orders?scope=all", headers=staff.headers).json()
    assert page["total"] == 1
    assert client.get("/api/orders", headers=staff.headers).json()["total"] == 0  # "mine"


def test_someone_elses_order_is_a_404(client, place, user, new_user, staff, assert_error):
    order = place(user)
    assert client.get(f"/api/orders/{order['id']}", headers=user.headers).json() == order
    assert_error(
        client.get(f"/api/orders/{order['id']}", headers=new_user().headers), 404, "not_found"
    )
    assert client.get(f"/api/orders/{order['id']}", headers=staff.headers).status_code == 200
    assert_error(client.get(f"/api/orders/{uuid.uuid4()}", headers=user.headers), 404)
    assert_error(client.get("/api/orders/not-a-uuid", headers=user.headers), 404)


def test_cancel_a_pending_order_publishes_order_cancelled(client, place, user, outbox):
    order = place(user)
    response = client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["cancelled_at"]
    [cancelled] = outbox("order.cancelled")
    assert cancelled["data"] == {
        "order_id": order["id"],
        "reason": "cancelled by the customer",
        "user_id": str(user.id),  # mainapp tells the customer's open sockets
    }
    # twice is fine, and publishes nothing more
    again = client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert again.status_code == 200 and again.json()["version"] == 2
    assert len(outbox("order.cancelled")) == 1


def test_cancel_a_confirmed_order(client, place, user, db, outbox):
    order = place(user)
    set_status(db, order["id"], OrderStatus.CONFIRMED)
    response = client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.json()["status"] == "cancelled"
    assert response.json()["confirmed_at"] is not None
    assert len(outbox("order.cancelled")) == 1


def test_a_rejected_order_cannot_be_cancelled(client, place, user, db, assert_error, outbox):
    order = place(user)
    set_status(db, order["id"], OrderStatus.REJECTED, reasons=[])
    assert_error(
        client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers),
        409,
        "invalid_transition",
    )
    assert outbox("order.cancelled") == []


def test_only_the_owner_or_staff_cancels(
    client, place, user, new_user, staff, assert_error, outbox
):
    order = place(user)
    assert_error(client.post(f"/api/orders/{order['id']}/cancel", headers=new_user().headers), 404)
    response = client.post(f"/api/orders/{order['id']}/cancel", headers=staff.headers)
    assert response.json()["status"] == "cancelled"
    assert outbox("order.cancelled")[0]["data"]["reason"] == "cancelled by the staff"
