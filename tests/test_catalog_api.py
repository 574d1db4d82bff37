"""The catalog through the gateway: public browsing and search over the demo seed, staff edits
and stock receipts with the seeded admin, customers refused, quotes, errors, health and docs."""

from __future__ import annotations

import uuid

import pytest
from helpers import assert_error, bearer, shopper, staff_token


@pytest.fixture(scope="module")
def staff(stack) -> str:
    with stack.client() as client:
        return staff_token(client, stack)


@pytest.fixture(scope="module")
def customer(stack) -> str:
    with stack.client() as client:
        return shopper(client)[1]


def test_anyone_browses_and_searches_the_demo_catalog(client):
    response = client.get("/api/catalog/products", params={"page_size": 100})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] >= 60 and len(page["items"]) >= 60
    categories = client.get("/api/catalog/categories").json()["items"]
    assert sum(1 for c in categories if c["product_count"] > 0) >= 6

    coffee = client.get("/api/catalog/products", params={"q": "coffee beans"}).json()
    assert coffee["total"] >= 3
    assert all("coffee" in item["name"].lower() for item in coffee["items"])

    filtered = client.get(
        "/api/catalog/products",
        params={"category": "apparel", "attr.color": "black", "in_stock": "true"},
    ).json()
    for item in filtered["items"]:
        assert item["category"] == "apparel" and item["attributes"]["color"] == "black"
        assert item["available"] > 0

    cheap = client.get("/api/catalog/products", params={"max_price": "10", "sort": "price_asc"})
    prices = [float(item["price"]) for item in cheap.json()["items"]]
    assert prices and prices == sorted(prices) and max(prices) <= 10

    first = page["items"][0]
    assert client.get(f"/api/catalog/products/by-slug/{first['slug']}").json()["id"] == first["id"]


def test_page_size_is_capped(client):
    assert_error(client.get("/api/catalog/products?page_size=1000"), 422, "validation_error")


def test_staff_create_a_product_and_receive_stock(client, staff):
    slug = f"stack-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/catalog/categories", json={"name": "Stack tests", "slug": slug}, headers=bearer(staff)
    )
    assert response.status_code == 201, response.text
    sku = f"STK-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/catalog/products",
        json={
            "sku": sku,
            "name": f"Gateway kettle {sku}",
            "price": "45.90",
            "category": slug,
            "attributes": {"color": "copper", "capacity_l": 1.7},
        },
        headers=bearer(staff),
    )
    assert response.status_code == 201, response.text
    product = response.json()
    assert (product["price"], product["currency"], product["available"]) == ("45.90", "EUR", 0)

    response = client.post(
        f"/api/catalog/products/{product['id']}/stock", json={"quantity": 12}, headers=bearer(staff)
    )
    assert response.status_code == 200, response.text
    assert (response.json()["available"], response.json()["received"]) == (12, 12)

    found = client.get("/api/catalog/products", params={"q": f"kettle {sku}"}).json()
    assert [item["id"] for item in found["items"]] == [product["id"]]
    found = client.get("/api/catalog/products", params={"attr.color": "copper"}).json()
    assert product["id"] in [item["id"] for item in found["items"]]

    response = client.patch(
        f"/api/catalog/products/{product['id']}", json={"active": False}, headers=bearer(staff)
    )
    assert response.json()["active"] is False
    assert client.get("/api/catalog/products", params={"q": sku}).json()["total"] == 0


def test_customers_and_anonymous_callers_cannot_write(client, customer):
    some = client.get("/api/catalog/products").json()["items"][0]
    writes = [
        (
            "POST",
            "/api/catalog/products",
            {"sku": "NO-1", "name": "x", "price": "1", "category": "books"},
        ),
        ("PATCH", f"/api/catalog/products/{some['id']}", {"price": "0.01"}),
        ("DELETE", f"/api/catalog/products/{some['id']}", None),
        ("POST", f"/api/catalog/products/{some['id']}/stock", {"quantity": 1000}),
        ("POST", "/api/catalog/categories", {"name": "Nope"}),
    ]
    for method, url, body in writes:
        response = client.request(method, url, json=body, headers=bearer(customer))
        assert_error(response, 403, "permission_denied")
        assert_error(client.request(method, url, json=body), 401)
    assert client.get(f"/api/catalog/products/{some['id']}").json() == some


def test_a_customer_gets_a_quote(client, customer):
    items = client.get("/api/catalog/products", params={"in_stock": "true"}).json()["items"]
    lines = [{"product_id": item["id"], "quantity": 1} for item in items[:2]]
    response = client.post("/api/catalog/quotes", json={"lines": lines}, headers=bearer(customer))
    assert response.status_code == 200, response.text
    quoted = response.json()["lines"]
    assert [line["product_id"] for line in quoted] == [line["product_id"] for line in lines]
    assert quoted[0]["unit_price"] == items[0]["price"] and quoted[0]["available"] is True
    assert_error(client.post("/api/catalog/quotes", json={"lines": lines}), 401)


def test_operator_injection_is_refused_through_the_gateway(client, staff):
    assert_error(client.get("/api/catalog/products?attr.$where=1"), 422, "validation_error")
    assert_error(client.get("/api/catalog/products?attr.a.b=1"), 422, "validation_error")
    response = client.post(
        "/api/catalog/products",
        json={"sku": {"$ne": None}, "name": "x", "price": "1.00", "category": "books"},
        headers=bearer(staff),
    )
    assert_error(response, 422, "validation_error")


def test_catalog_errors_are_json(client):
    assert_error(client.get("/api/catalog/products/no-such-product"), 404, "not_found")
    assert_error(client.get("/api/catalog/no/such/route"), 404, "not_found")


def test_the_gateway_is_healthy_with_the_catalog_and_publishes_its_api(client):
    assert client.get("/health").status_code == 200
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200, spec.text
    assert "/api/catalog/products" in spec.json()["paths"]
