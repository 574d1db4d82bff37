"""The order saga through the gateway, with the real catalog and workers: cart to confirmed
(polling, the live stream, the e-mail), rejection, cancel, idempotency, duplicates."""

from __future__ import annotations

import signal
import threading
import uuid

import pytest
from helpers import (
    assert_error,
    bearer,
    delete_account,
    eventually,
    new_product,
    orders_db,
    place_order,
    send_to_queue,
    shopper,
    staff_token,
    status_events,
    stock_of,
    wait_settled,
)


@pytest.fixture(scope="module")
def staff(stack):
    with stack.client() as client:
        return staff_token(client, stack)


def confirmed_events(stack, order_id: str) -> int:
    with orders_db(stack) as db:
        return db.execute(
            "SELECT count(*) FROM outbox_events WHERE type = 'order.confirmed' "
            "AND envelope->'data'->>'order_id' = %s",
            (order_id,),
        ).fetchone()[0]


def test_cart_to_confirmed_seen_by_polling_on_the_stream_and_by_e_mail(stack, client, staff):
    product = new_product(client, staff, stock=5, price="19.99")
    user, token = shopper(client)
    response = client.put(
        f"/api/cart/items/{product['id']}", json={"quantity": 2}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    cart = response.json()
    assert cart["subtotal"] == "39.98" and cart["items"][0]["name"] == product["name"]

    response = place_order(client, token)

    assert response.status_code == 202, response.text
    order = response.json()
    assert order["status"] == "pending" and order["total"] == "39.98"
    statuses, _ = status_events(client, token, order["id"])
    assert statuses[-1]["status"] == "confirmed"
    assert [s["status"] for s in statuses] in (["pending", "confirmed"], ["confirmed"])
    assert wait_settled(client, token, order["id"])["status"] == "confirmed"
    assert stock_of(client, product["id"]) == (3, 2, 5)
    assert client.get("/api/cart", headers=bearer(token)).json()["items"] == []

    mails = eventually(
        lambda: (
            stack.mails_to(user["email"])
            and [mail for mail in stack.mails_to(user["email"]) if "order is confirmed" in mail]
        ),
        timeout=30,
    )
    assert len(mails) == 1
    assert product["name"] in mails[0] and "39.98" in mails[0]


def test_the_stream_sends_pending_then_confirmed_as_it_happens(stack, client, staff):
    """With the catalog's worker paused, the stream is open before the reservation is made."""
    product = new_product(client, staff, stock=1)
    _, token = shopper(client)
    catalog_worker = stack.processes["catalog-worker"]
    seen: dict = {}
    progress: list[str] = []
    catalog_worker.signal(signal.SIGSTOP)
    try:
        order = place_order(client, token, [(product["id"], 1)]).json()

        def read() -> None:
            with stack.client() as own:
                seen["statuses"], seen["heartbeats"] = status_events(
                    own, token, order["id"], progress=progress
                )

        reader = threading.Thread(target=read)
        reader.start()
        # the stream is open and idle: its heartbeats come through the gateway
        eventually(lambda: progress[:1] == ["pending"] and "heartbeat" in progress, timeout=15)
    finally:
        catalog_worker.signal(signal.SIGCONT)
    reader.join(30)
    assert [s["status"] for s in seen["statuses"]] == ["pending", "confirmed"]
    assert seen["heartbeats"] >= 1


def test_short_stock_rejects_with_reasons_and_leaves_the_catalog_unchanged(stack, client, staff):
    product = new_product(client, staff, stock=1)
    other = new_product(client, staff, stock=3)
    _, token = shopper(client)

    order = place_order(client, token, [(other["id"], 2), (product["id"], 2)]).json()

    rejected = wait_settled(client, token, order["id"])
    assert rejected["status"] == "rejected"
    [reason] = rejected["reasons"]
    assert reason["product_id"] == product["id"]
    assert (reason["requested"], reason["available"]) == (2, 1)
    # all or nothing: the line that could be reserved was released again
    assert stock_of(client, product["id"]) == (1, 0, 1)
    assert stock_of(client, other["id"]) == (3, 0, 3)
    assert confirmed_events(stack, order["id"]) == 0


def test_cancelling_a_confirmed_order_releases_its_stock(stack, client, staff):
    product = new_product(client, staff, stock=4)
    _, token = shopper(client)
    order = place_order(client, token, [(product["id"], 3)]).json()
    assert wait_settled(client, token, order["id"])["status"] == "confirmed"
    assert stock_of(client, product["id"]) == (1, 3, 4)

    response = client.post(f"/api/orders/{order['id']}/cancel", headers=bearer(token))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    eventually(lambda: stock_of(client, product["id"]) == (4, 0, 4), timeout=20)
    # a rejected order cannot be cancelled; a cancelled one is simply returned
    again = client.post(f"/api/orders/{order['id']}/cancel", headers=bearer(token))
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_the_same_idempotency_key_twice_makes_one_order(stack, client, staff):
    product = new_product(client, staff, stock=5)
    user, token = shopper(client)
    key = str(uuid.uuid4())
    first = place_order(client, token, [(product["id"], 1)], key=key)
    second = place_order(client, token, [(product["id"], 1)], key=key)

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    wait_settled(client, token, first.json()["id"])
    with orders_db(stack) as db:
        count = db.execute("SELECT count(*) FROM orders WHERE user_id = %s", (user["id"],))
        assert count.fetchone()[0] == 1
    assert stock_of(client, product["id"]) == (4, 1, 5)


def test_a_duplicated_stock_reserved_changes_nothing(stack, client, staff):
    product = new_product(client, staff, stock=2)
    user, token = shopper(client)
    order = place_order(client, token, [(product["id"], 1)]).json()
    assert wait_settled(client, token, order["id"])["status"] == "confirmed"
    eventually(lambda: any("order is confirmed" in m for m in stack.mails_to(user["email"])))

    duplicate = {
        "id": str(uuid.uuid4()),
        "type": "stock.reserved",
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "producer": "catalog",
        "data": {"order_id": order["id"], "lines": [{"product_id": product["id"], "quantity": 1}]},
        "traceparent": None,
    }
    send_to_queue(stack, "orders", duplicate)  # the same event twice...
    send_to_queue(stack, "orders", duplicate)
    send_to_queue(stack, "orders", {**duplicate, "id": str(uuid.uuid4())})  # ...and another one

    def handled():
        """the three deliveries were consumed"""
        with orders_db(stack) as db:
            return (
                db.execute(
                    "SELECT count(*) FROM processed_events WHERE event_id = %s", (duplicate["id"],)
                ).fetchone()[0]
                == 1
                and stack.redis().llen("orders") == 0
            )

    eventually(handled, timeout=20)
    after = client.get(f"/api/orders/{order['id']}", headers=bearer(token)).json()
    assert after["status"] == "confirmed" and after["version"] == 2
    assert confirmed_events(stack, order["id"]) == 1
    assert stock_of(client, product["id"]) == (1, 1, 2)
    confirmations = [m for m in stack.mails_to(user["email"]) if "order is confirmed" in m]
    assert len(confirmations) == 1


def test_deleting_the_account_anonymises_the_orders(stack, client, staff):
    product = new_product(client, staff, stock=2)
    _, token = shopper(client)
    order = place_order(client, token, [(product["id"], 1)]).json()
    wait_settled(client, token, order["id"])

    assert delete_account(client, token).status_code == 204

    def anonymised():
        """staff see the order without its customer"""
        seen = client.get(f"/api/orders/{order['id']}", headers=bearer(staff)).json()
        return seen["user_id"] is None and seen

    kept = eventually(anonymised, timeout=20)
    assert kept["status"] == "confirmed" and kept["total"] == order["total"]
    with orders_db(stack) as db:
        row = db.execute(
            "SELECT user_id, idempotency_key, anonymised_at FROM orders WHERE id = %s",
            (order["id"],),
        ).fetchone()
    assert row[0] is None and row[1] is None and row[2] is not None


def test_a_lost_order_placed_is_re_published_by_the_sweeper(stack, client, staff):
    product = new_product(client, staff, stock=2)
    _, token = shopper(client)
    stack.processes["catalog-worker"].stop()
    try:
        order = place_order(client, token, [(product["id"], 1)]).json()
        r = stack.redis()
        eventually(lambda: r.llen("catalog") > 0, timeout=10)
        r.delete("catalog")  # the broker lost it
    finally:
        stack.restart("catalog-worker")
    settled = wait_settled(client, token, order["id"], timeout=40)
    assert settled["status"] == "confirmed"
    with orders_db(stack) as db:
        republished = db.execute(
            "SELECT republish_count FROM orders WHERE id = %s", (order["id"],)
        ).fetchone()[0]
    assert republished >= 1


def test_with_the_catalog_down_checkout_is_a_clear_503(stack, client, staff):
    product = new_product(client, staff, stock=2)
    _, token = shopper(client)
    stack.processes["catalog"].stop()
    try:
        response = place_order(client, token, [(product["id"], 1)])
        error = assert_error(response, 503, "catalog_unavailable")
        assert "nothing was ordered" in error["message"]
    finally:
        stack.restart("catalog")
        eventually(
            lambda: client.get(f"/api/catalog/products/{product['id']}").status_code == 200,
            timeout=30,
        )
    assert client.get("/api/orders", headers=bearer(token)).json()["total"] == 0


def test_reports_for_staff_only(stack, client, staff):
    _, token = shopper(client)
    assert_error(client.get("/api/reports/sales", headers=bearer(token)), 403)
    response = client.get("/api/reports/sales?group_by=week", headers=bearer(staff))
    assert response.status_code == 200, response.text
    assert response.json()["orders"] >= 1
