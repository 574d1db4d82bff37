"""Checkout: pricing through the catalog, one transaction with order.placed, idempotency."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from orders.store.models import CartItem, Order


def order_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Order))


def put(client, user, product_id, quantity):
    response = client.put(
        f"/api/cart/items/{product_id}", json={"quantity": quantity}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_checkout_of_the_cart_places_a_pending_order_with_its_event(
    client, user, db, outbox, catalog
):
    put(client, user, "p1", 2)
    put(client, user, "p2", 1)

    response = client.post("/api/orders", headers=user.headers)

    assert response.status_code == 202, response.text
    order = response.json()
    assert response.headers["location"] == f"/api/orders/{order['id']}"
    assert order["status"] == "pending"
    assert order["user_id"] == str(user.id)
    assert order["currency"] == "EUR"
    assert order["total"] == "45.48"  # 2 x 19.99 + 5.50, exactly
    assert [
        (ln["product_id"], ln["name"], ln["unit_price"], ln["quantity"], ln["line_total"])
        for ln in order["lines"]
    ] == [
        ("p1", "Red mug", "19.99", 2, "39.98"),
        ("p2", "Tea towel", "5.50", 1, "5.50"),
    ]
    [placed] = outbox("order.placed")
    assert placed["producer"] == "orders"
    assert placed["data"] == {
        "order_id": order["id"],
        "lines": [{"product_id": "p1", "quantity": 2}, {"product_id": "p2", "quantity": 1}],
    }
    # what was ordered left the cart
    assert client.get("/api/cart", headers=user.headers).json()["items"] == []
    # the catalog was asked with the user's own token
    assert catalog.calls[-1][1] == user.token


def test_the_price_snapshot_does_not_follow_later_catalog_changes(client, user, catalog):
    order = client.post(
        "/api/orders", json={"lines": [{"product_id": "p1", "quantity": 1}]}, headers=user.headers
    ).json()
    catalog.add("p1", "99.00", name="Renamed mug")
    again = client.get(f"/api/orders/{order['id']}", headers=user.headers).json()
    assert again["lines"][0]["unit_price"] == "19.99"
    assert again["lines"][0]["name"] == "Red mug"


def test_checkout_of_explicit_lines_merges_repeats_and_leaves_the_cart(client, user, outbox):
    put(client, user, "p3", 1)
    response = client.post(
        "/api/orders",
        json={"lines": [{"product_id": "p2", "quantity": 1}, {"product_id": "p2", "quantity": 2}]},
        headers=user.headers,
    )
    assert response.status_code == 202, response.text
    assert [(ln["product_id"], ln["quantity"]) for ln in response.json()["lines"]] == [("p2", 3)]
    assert response.json()["total"] == "16.50"
    assert [
        i["product_id"] for i in client.get("/api/cart", headers=user.headers).json()["items"]
    ] == ["p3"]


def test_an_empty_cart_cannot_be_checked_out(client, user, assert_error, db):
    assert_error(client.post("/api/orders", headers=user.headers), 400, "empty_order")
    assert order_count(db) == 0


def test_unknown_and_inactive_products_are_refused_and_nothing_is_written(
    client, user, catalog, assert_error, db, outbox
):
    catalog.add("off", active=False)
    error = assert_error(
        client.post(
            "/api/orders",
            json={
                "lines": [
                    {"product_id": "p1", "quantity": 1},
                    {"product_id": "nope", "quantity": 1},
                    {"product_id": "off", "quantity": 1},
                ]
            },
            headers=user.headers,
        ),
        422,
        "product_unavailable",
    )
    assert error["fields"] == {"nope": ["unknown product"], "off": ["product is not for sale"]}
    assert order_count(db) == 0
    assert outbox() == []


def test_mixed_currencies_and_oversized_quantities_are_refused(
    client, user, catalog, assert_error, settings
):
    catalog.add("usd", currency="USD")
    assert_error(
        client.post(
            "/api/orders",
            json={
                "lines": [{"product_id": "p1", "quantity": 1}, {"product_id": "usd", "quantity": 1}]
            },
            headers=user.headers,
        ),
        422,
        "mixed_currencies",
    )
    assert_error(
        client.post(
            "/api/orders",
            json={"lines": [{"product_id": "p1", "quantity": settings.orders_max_quantity + 1}]},
            headers=user.headers,
        ),
        400,
        "quantity_too_large",
    )


def test_catalog_down_is_a_clear_503_and_nothing_is_ordered(
    client, user, catalog, assert_error, db, outbox
):
    put(client, user, "p1", 1)
    catalog.down = True
    response = client.post("/api/orders", headers=user.headers)
    error = assert_error(response, 503, "catalog_unavailable")
    assert "nothing was ordered" in error["message"]
    assert response.headers["retry-after"] == "3"
    assert order_count(db) == 0
    assert outbox() == []
    assert len(client.get("/api/cart", headers=user.headers).json()["items"]) == 1


def test_the_same_idempotency_key_returns_the_same_order(client, user, new_user, db, outbox):
    key = str(uuid.uuid4())
    body = {"lines": [{"product_id": "p1", "quantity": 1}]}
    first = client.post("/api/orders", json=body, headers={**user.headers, "Idempotency-Key": key})
    second = client.post("/api/orders", json=body, headers={**user.headers, "Idempotency-Key": key})

    assert first.status_code == second.status_code == 202
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json() == second.json()
    assert order_count(db) == 1
    assert len(outbox("order.placed")) == 1
    # another user's identical key is another order
    other = client.post(
        "/api/orders", json=body, headers={**new_user().headers, "Idempotency-Key": key}
    )
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_a_key_reused_for_another_request_is_refused(client, user, assert_error, db):
    key = "order-1"
    headers = {**user.headers, "Idempotency-Key": key}
    client.post(
        "/api/orders", json={"lines": [{"product_id": "p1", "quantity": 1}]}, headers=headers
    )
    assert_error(
        client.post(
            "/api/orders", json={"lines": [{"product_id": "p1", "quantity": 2}]}, headers=headers
        ),
        422,
        "idempotency_key_reused",
    )
    # the same request in another order of lines is the same request
    same = client.post(
        "/api/orders", json={"lines": [{"product_id": "p1", "quantity": 1}]}, headers=headers
    )
    assert same.status_code == 202
    assert order_count(db) == 1


def test_concurrent_requests_with_one_key_make_one_order(client, user, db, outbox):
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"lines": [{"product_id": "p2", "quantity": 1}]}
    results: list = []
    barrier = threading.Barrier(8)

    def place():
        barrier.wait()
        results.append(client.post("/api/orders", json=body, headers=headers))

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {r.status_code for r in results} == {202}
    assert len({r.json()["id"] for r in results}) == 1
    assert order_count(db) == 1
    assert len(outbox("order.placed")) == 1


def test_a_malformed_idempotency_key_is_refused(client, user, assert_error):
    error = assert_error(
        client.post(
            "/api/orders",
            json={"lines": [{"product_id": "p1", "quantity": 1}]},
            headers={**user.headers, "Idempotency-Key": "x" * 256},
        ),
        400,
        "validation_error",
    )
    assert "Idempotency-Key" in error["fields"]


def test_the_committed_event_is_relayed_to_the_catalog_queue(client, user, db, queued, wait_until):
    response = client.post(
        "/api/orders", json={"lines": [{"product_id": "p1", "quantity": 1}]}, headers=user.headers
    )
    order_id = response.json()["id"]
    # the app's after-commit relay sends it without waiting for a sweep
    envelopes = wait_until(lambda: queued("catalog"))
    assert [e["data"]["order_id"] for e in envelopes] == [order_id]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CartItem)) == 0
    assert Decimal(response.json()["total"]) == Decimal("19.99")
