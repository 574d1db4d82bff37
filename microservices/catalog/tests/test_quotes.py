"""Quotes: what checkout asks before placing an order."""

from __future__ import annotations


def test_a_quote_prices_each_line_and_says_whether_it_can_be_had(client, customer, make_product):
    tee = make_product("T-shirt", price="19.90", stock=5)
    rare = make_product("Rare print", price="250.00", stock=1)
    gone = make_product("Old mug", price="4.50", stock=9, active=False)
    body = {
        "lines": [
            {"product_id": tee["_id"], "quantity": 3},
            {"product_id": rare["_id"], "quantity": 2},
            {"product_id": gone["_id"], "quantity": 1},
        ]
    }
    response = client.post("/api/catalog/quotes", json=body, headers=customer)
    assert response.status_code == 200, response.get_json()
    lines = response.get_json()["lines"]
    assert lines[0] == {
        "product_id": tee["_id"],
        "quantity": 3,
        "name": "T-shirt",
        "sku": tee["sku"],
        "unit_price": "19.90",
        "line_total": "59.70",
        "currency": "EUR",
        "active": True,
        "available": True,
        "stock_available": 5,
    }
    assert (lines[1]["available"], lines[1]["stock_available"]) == (False, 1)
    assert (lines[2]["active"], lines[2]["available"]) == (False, False)


def test_a_quote_reserves_nothing(client, customer, make_product, store):
    tee = make_product(stock=5)
    body = {"lines": [{"product_id": tee["_id"], "quantity": 5}]}
    assert client.post("/api/catalog/quotes", json=body, headers=customer).status_code == 200
    assert store.products.get(tee["_id"])["available"] == 5


def test_a_quote_needs_a_signed_in_user(client, make_product, assert_error):
    tee = make_product()
    body = {"lines": [{"product_id": tee["_id"], "quantity": 1}]}
    assert_error(client.post("/api/catalog/quotes", json=body), 401, "not_authenticated")


def test_unknown_products_are_named(client, customer, make_product, assert_error):
    tee = make_product()
    body = {
        "lines": [
            {"product_id": tee["_id"], "quantity": 1},
            {"product_id": "no-such-product", "quantity": 1},
        ]
    }
    error = assert_error(client.post("/api/catalog/quotes", json=body, headers=customer), 422)
    assert error["fields"] == {"lines.1.product_id": ["no such product"]}


def test_quote_validation(client, customer, assert_error):
    for body in (
        {},
        {"lines": []},
        {"lines": [{"product_id": "p", "quantity": 0}]},
        {"lines": [{"product_id": "p", "quantity": "1"}]},
        {"lines": [{"product_id": "p"}]},
        {"lines": [{"product_id": "p", "quantity": 1}] * 101},
    ):
        assert_error(client.post("/api/catalog/quotes", json=body, headers=customer), 422)


def test_lines_of_one_product_are_available_only_together(client, customer, make_product):
    tee = make_product(stock=3)
    body = {"lines": [{"product_id": tee["_id"], "quantity": 2}] * 2}
    lines = client.post("/api/catalog/quotes", json=body, headers=customer).get_json()["lines"]
    assert [line["available"] for line in lines] == [False, False]
