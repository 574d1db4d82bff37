"""Products over HTTP: staff create, edit, deactivate, delete and receive stock; everyone reads."""

from __future__ import annotations

import pytest

PRODUCT = {
    "sku": "TEE-001",
    "name": "Organic T-shirt",
    "description": "Heavy cotton",
    "price": "19.90",
    "category": "clothing",
    "attributes": {"color": "white", "sizes": ["S", "M"], "fit": {"cut": "relaxed"}},
    "images": ["/images/demo/apparel.svg"],
}


@pytest.fixture
def created(client, staff, category):
    response = client.post("/api/catalog/products", json=PRODUCT, headers=staff)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_staff_creates_a_product_that_anyone_can_read(client, created):
    assert created["price"] == "19.90" and created["currency"] == "EUR"
    assert created["slug"] == "organic-t-shirt"
    assert (created["available"], created["reserved"], created["received"]) == (0, 0, 0)
    assert created["attributes"] == PRODUCT["attributes"]
    by_id = client.get(f"/api/catalog/products/{created['id']}")
    assert by_id.status_code == 200 and by_id.get_json() == created
    by_slug = client.get("/api/catalog/products/by-slug/organic-t-shirt")
    assert by_slug.get_json() == created


def test_create_answers_with_the_location_of_the_product(client, staff, category):
    response = client.post("/api/catalog/products", json={**PRODUCT, "sku": "X-1"}, headers=staff)
    assert response.headers["Location"] == f"/api/catalog/products/{response.get_json()['id']}"


def test_writes_need_a_token(client, created, assert_error):
    product = f"/api/catalog/products/{created['id']}"
    attempts = [
        client.post("/api/catalog/products", json={**PRODUCT, "sku": "N-1"}),
        client.patch(product, json={"name": "x"}),
        client.delete(product),
        client.post(f"{product}/stock", json={"quantity": 5}),
        client.post(f"{product}/deactivate"),
        client.post("/api/catalog/categories", json={"name": "Shoes"}),
    ]
    for response in attempts:
        assert_error(response, 401, "not_authenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_customers_may_not_write(client, customer, created, assert_error):
    product = f"/api/catalog/products/{created['id']}"
    attempts = [
        client.post("/api/catalog/products", json={**PRODUCT, "sku": "N-1"}, headers=customer),
        client.patch(product, json={"name": "x"}, headers=customer),
        client.delete(product, headers=customer),
        client.post(f"{product}/stock", json={"quantity": 5}, headers=customer),
        client.post(f"{product}/deactivate", headers=customer),
        client.post("/api/catalog/categories", json={"name": "Shoes"}, headers=customer),
    ]
    for response in attempts:
        assert_error(response, 403, "permission_denied")
    assert client.get(product).get_json() == created


def test_an_anonymous_caller_learns_nothing_about_the_body_schema(client, assert_error):
    assert_error(client.post("/api/catalog/products", json={"bogus": 1}), 401)


def test_partial_update_changes_only_what_is_sent(client, staff, created):
    response = client.patch(
        f"/api/catalog/products/{created['id']}",
        json={"price": "17.50", "attributes": {"color": "black"}},
        headers=staff,
    )
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    assert updated["price"] == "17.50"
    assert updated["attributes"] == {"color": "black"}
    assert updated["name"] == created["name"] and updated["sku"] == created["sku"]
    assert updated["updated_at"] >= created["updated_at"]
    # the search text follows the edit
    found = client.get("/api/catalog/products?q=black").get_json()
    assert [item["id"] for item in found["items"]] == [created["id"]]


def test_update_refuses_nulls_unknown_fields_and_the_sku(client, staff, created, assert_error):
    product = f"/api/catalog/products/{created['id']}"
    error = assert_error(client.patch(product, json={"name": None}, headers=staff), 422)
    assert "name" in error["fields"]["body"][0]
    error = assert_error(client.patch(product, json={"sku": "NEW"}, headers=staff), 422)
    assert error["fields"] == {"sku": ["Extra inputs are not permitted"]}
    assert_error(client.patch(product, json={}, headers=staff), 422, "validation_error")


def test_unknown_product_is_404(client, staff, assert_error):
    assert_error(client.get("/api/catalog/products/nope"), 404, "not_found")
    assert_error(client.get("/api/catalog/products/by-slug/nope"), 404)
    assert_error(client.patch("/api/catalog/products/nope", json={"name": "x"}, headers=staff), 404)
    assert_error(client.delete("/api/catalog/products/nope", headers=staff), 404)
    assert_error(
        client.post("/api/catalog/products/nope/stock", json={"quantity": 1}, headers=staff), 404
    )


def test_sku_and_explicit_slug_are_unique(client, staff, created, assert_error):
    error = assert_error(client.post("/api/catalog/products", json=PRODUCT, headers=staff), 409)
    assert "sku" in error["fields"]
    clash = {**PRODUCT, "sku": "TEE-002", "slug": "organic-t-shirt"}
    error = assert_error(client.post("/api/catalog/products", json=clash, headers=staff), 409)
    assert "slug" in error["fields"]


def test_a_derived_slug_that_is_taken_gets_the_sku(client, staff, created):
    response = client.post(
        "/api/catalog/products", json={**PRODUCT, "sku": "TEE-002"}, headers=staff
    )
    assert response.get_json()["slug"] == "organic-t-shirt-tee-002"


def test_images_are_paths_on_the_shops_own_origin(client, staff, category):
    images = ["/api/catalog/images/" + "a" * 32, "/images/demo/books.svg"]
    response = client.post(
        "/api/catalog/products", json={**PRODUCT, "images": images}, headers=staff
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["images"] == images


def test_validation_of_prices_currency_category_and_sizes(client, staff, category, assert_error):
    cases = {
        "price": [{"price": "0"}, {"price": "-3"}, {"price": "1.999"}, {"price": 12.5}],
        "currency": [{"currency": "JPY"}, {"currency": "eur"}],
        "category": [{"category": "no-such-category"}, {"category": "Bad Slug"}],
        "name": [{"name": ""}, {"name": "x" * 201}],
        "description": [{"description": "x" * 5001}],
        "images": [
            {"images": ["javascript:alert(1)"]},
            {"images": ["/a.png"] * 21},
            {"images": ["https://img.example.com/a.jpg"]},  # another site learns who looks
            {"images": ["//evil.example/a.png"]},  # another origin, written as a path
            {"images": ["/\\evil.example/a.png"]},
            {"images": ["images/a.png"]},
        ],
        "sku": [{"sku": "has space"}, {"sku": "x" * 65}],
    }
    for field, overrides in cases.items():
        for override in overrides:
            response = client.post(
                "/api/catalog/products", json={**PRODUCT, **override}, headers=staff
            )
            error = assert_error(response, 422, "validation_error")
            assert any(key.startswith(field) for key in error["fields"]), (override, error)


def test_stock_receipts_add_to_available_and_received(client, staff, created, assert_error):
    url = f"/api/catalog/products/{created['id']}/stock"
    assert client.post(url, json={"quantity": 7}, headers=staff).status_code == 200
    product = client.post(url, json={"quantity": 5}, headers=staff).get_json()
    assert (product["available"], product["reserved"], product["received"]) == (12, 0, 12)
    for bad in ({"quantity": 0}, {"quantity": -1}, {"quantity": "5"}, {"quantity": 2.5}, {}):
        assert_error(client.post(url, json=bad, headers=staff), 422, "validation_error")


def test_deactivate_hides_a_product_from_browsing(client, staff, created):
    response = client.post(f"/api/catalog/products/{created['id']}/deactivate", headers=staff)
    assert response.get_json()["active"] is False
    assert client.get("/api/catalog/products").get_json()["total"] == 0
    # still readable by id: orders and history name it
    assert client.get(f"/api/catalog/products/{created['id']}").get_json()["active"] is False
    reactivated = client.patch(
        f"/api/catalog/products/{created['id']}", json={"active": True}, headers=staff
    )
    assert reactivated.get_json()["active"] is True
    assert client.get("/api/catalog/products").get_json()["total"] == 1


def test_delete(client, staff, created, assert_error):
    assert client.delete(f"/api/catalog/products/{created['id']}", headers=staff).status_code == 204
    assert_error(client.get(f"/api/catalog/products/{created['id']}"), 404)


def test_a_product_with_reserved_stock_cannot_be_deleted(client, staff, store, make_product):
    from catalog.domain.reservation import Line

    product = make_product(stock=3)
    assert store.stock.reserve("order-1", Line(product["_id"], 2)) is None
    response = client.delete(f"/api/catalog/products/{product['_id']}", headers=staff)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    store.stock.release("order-1", product["_id"])
    assert (
        client.delete(f"/api/catalog/products/{product['_id']}", headers=staff).status_code == 204
    )


def test_a_slug_edit_to_a_taken_slug_is_a_conflict(client, staff, created, assert_error):
    other = client.post("/api/catalog/products", json={**PRODUCT, "sku": "TEE-9"}, headers=staff)
    response = client.patch(
        f"/api/catalog/products/{other.get_json()['id']}",
        json={"slug": "organic-t-shirt"},
        headers=staff,
    )
    assert "slug" in assert_error(response, 409, "conflict")["fields"]
