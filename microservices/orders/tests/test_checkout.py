"""Checkout: pricing through the catalog, one transaction with order.placed, idempotency."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orders.app import create_app
from orders.settings import Settings
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
    client, user, db, outbox, products
):
    mug, towel = products["mug"], products["towel"]
    put(client, user, mug, 2)
    put(client, user, towel, 1)

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
        (mug, "Red mug", "19.99", 2, "39.98"),
        (towel, "Tea towel", "5.50", 1, "5.50"),
    ]
    [placed] = outbox("order.placed")
    assert placed["producer"] == "orders"
    assert placed["data"] == {
        "order_id": order["id"],
        "lines": [{"product_id": mug, "quantity": 2}, {"product_id": towel, "quantity": 1}],
    }
    # what was ordered left the cart
    assert client.get("/api/cart", headers=user.headers).json()["items"] == []


def test_the_catalog_is_asked_with_the_users_own_token(
    settings, db, products, new_user, serve_jwks, assert_error
):
    """orders has no credential of its own for the catalog: it forwards the caller's token, and
    the catalog judges it. Here orders trusts one more key than the catalog does: a token signed
    with it gets through orders, and the catalog's refusal of that very token reaches the user."""
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_url = serve_jwks({"stranger": stranger_key.public_key()})
    trusting = Settings(**{**settings.model_dump(), "jwks_url": jwks_url})
    lines = {"lines": [{"product_id": products["mug"], "quantity": 1}]}
    stranger = new_user(key=stranger_key, kid="stranger")
    with TestClient(create_app(trusting)) as client:
        assert client.get("/api/orders", headers=stranger.headers).status_code == 200  # orders: ok
        # refused by the catalog, not by orders
        placing = client.post("/api/orders", json=lines, headers=stranger.headers)
        assert "catalog refused" in assert_error(placing, 401, "invalid_token")["message"]
        adding = client.put(
            f"/api/cart/items/{products['mug']}", json={"quantity": 1}, headers=stranger.headers
        )
        assert "catalog refused" in assert_error(adding, 401, "invalid_token")["message"]
        # a token both trust: priced and placed
        assert client.post("/api/orders", json=lines, headers=new_user().headers).status_code == 202
    assert order_count(db) == 1


def test_the_price_snapshot_does_not_follow_later_catalog_changes(client, user, catalog, products):
    mug = products["mug"]
    order = client.post(
        "/api/orders", json={"lines": [{"product_id": mug, "quantity": 1}]}, headers=user.headers
    ).json()
    catalog.update(mug, price="99.00", name="Renamed mug")
    # the catalog changed...
    quoted = client.put(f"/api/cart/items/{mug}", json={"quantity": 1}, headers=user.headers)
    assert [(i["name"], i["unit_price"]) for i in quoted.json()["items"]] == [
        ("Renamed mug", "99.00")
    ]
    # ...the order did not
    again = client.get(f"/api/orders/{order['id']}", headers=user.headers).json()
    assert again["lines"][0]["unit_price"] == "19.99"
    assert again["lines"][0]["name"] == "Red mug"


def test_checkout_of_explicit_lines_merges_repeats_and_leaves_the_cart(
    client, user, outbox, products
):
    lamp, towel = products["lamp"], products["towel"]
    put(client, user, lamp, 1)
    response = client.post(
        "/api/orders",
        json={
            "lines": [{"product_id": towel, "quantity": 1}, {"product_id": towel, "quantity": 2}]
        },
        headers=user.headers,
    )
    assert response.status_code == 202, response.text
    assert [(ln["product_id"], ln["quantity"]) for ln in response.json()["lines"]] == [(towel, 3)]
    assert response.json()["total"] == "16.50"
    assert [
        i["product_id"] for i in client.get("/api/cart", headers=user.headers).json()["items"]
    ] == [lamp]


def test_an_empty_cart_cannot_be_checked_out(client, user, assert_error, db):
    assert_error(client.post("/api/orders", headers=user.headers), 422, "empty_order")
    assert order_count(db) == 0


def test_unknown_and_inactive_products_are_refused_and_nothing_is_written(
    client, user, catalog, products, assert_error, db, outbox
):
    off = catalog.add(name="Old mug", active=False)
    error = assert_error(
        client.post(
            "/api/orders",
            json={
                "lines": [
                    {"product_id": products["mug"], "quantity": 1},
                    {"product_id": "nope", "quantity": 1},
                    {"product_id": off, "quantity": 1},
                ]
            },
            headers=user.headers,
        ),
        422,
        "product_unavailable",
    )
    assert error["fields"] == {"nope": ["unknown product"], off: ["product is not for sale"]}
    assert order_count(db) == 0
    assert outbox() == []


def test_mixed_currencies_and_oversized_quantities_are_refused(
    client, user, catalog, products, assert_error, settings
):
    mug, usd = products["mug"], catalog.add(name="Diner mug", currency="USD")
    assert_error(
        client.post(
            "/api/orders",
            json={
                "lines": [{"product_id": mug, "quantity": 1}, {"product_id": usd, "quantity": 1}]
            },
            headers=user.headers,
        ),
        422,
        "mixed_currencies",
    )
    assert_error(
        client.post(
            "/api/orders",
            json={"lines": [{"product_id": mug, "quantity": settings.orders_max_quantity + 1}]},
            headers=user.headers,
        ),
        422,
        "quantity_too_large",
    )


def test_catalog_down_is_a_clear_503_and_nothing_is_ordered(
    client, client_without_catalog, user, products, assert_error, db, outbox
):
    put(client, user, products["mug"], 1)
    response = client_without_catalog.post("/api/orders", headers=user.headers)
    error = assert_error(response, 503, "catalog_unavailable")
    assert "nothing was ordered" in error["message"]
    assert response.headers["retry-after"] == "1"  # it did not answer: try again shortly
    # the circuit is open now: refused at once, for the 3 s it stays open
    response = client_without_catalog.post("/api/orders", headers=user.headers)
    error = assert_error(response, 503, "catalog_unavailable")
    assert "nothing was ordered" in error["message"]
    assert response.headers["retry-after"] == "3"
    assert order_count(db) == 0
    assert outbox() == []
    assert len(client.get("/api/cart", headers=user.headers).json()["items"]) == 1


def test_the_same_idempotency_key_returns_the_same_order(
    client, user, new_user, db, outbox, products
):
    key = str(uuid.uuid4())
    body = {"lines": [{"product_id": products["mug"], "quantity": 1}]}
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


def test_a_key_reused_for_another_request_is_refused(client, user, assert_error, db, products):
    key = "order-1"
    headers = {**user.headers, "Idempotency-Key": key}
    mug = products["mug"]
    client.post(
        "/api/orders", json={"lines": [{"product_id": mug, "quantity": 1}]}, headers=headers
    )
    assert_error(
        client.post(
            "/api/orders", json={"lines": [{"product_id": mug, "quantity": 2}]}, headers=headers
        ),
        422,
        "idempotency_key_reused",
    )
    # the same request in another order of lines is the same request
    same = client.post(
        "/api/orders", json={"lines": [{"product_id": mug, "quantity": 1}]}, headers=headers
    )
    assert same.status_code == 202
    assert order_count(db) == 1


def test_concurrent_requests_with_one_key_make_one_order(client, user, db, outbox, products):
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"lines": [{"product_id": products["towel"], "quantity": 1}]}
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


def test_a_malformed_idempotency_key_is_refused(client, user, assert_error, products):
    error = assert_error(
        client.post(
            "/api/orders",
            json={"lines": [{"product_id": products["mug"], "quantity": 1}]},
            headers={**user.headers, "Idempotency-Key": "x" * 256},
        ),
        422,
        "validation_error",
    )
    assert "Idempotency-Key" in error["fields"]


def test_the_committed_event_is_relayed_to_the_catalog_queue(
    client, user, db, queued, wait_until, products
):
    response = client.post(
        "/api/orders",
        json={"lines": [{"product_id": products["mug"], "quantity": 1}]},
        headers=user.headers,
    )
    order_id = response.json()["id"]
    # the app's after-commit relay sends it without waiting for a sweep
    envelopes = wait_until(lambda: queued("catalog"))
    assert [e["data"]["order_id"] for e in envelopes] == [order_id]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CartItem)) == 0
    assert Decimal(response.json()["total"]) == Decimal("19.99")
