"""Categories: anyone lists them, staff create them."""

from __future__ import annotations


def test_staff_create_categories_everyone_lists_them_with_counts(
    client, staff, make_product, assert_error
):
    response = client.post(
        "/api/catalog/categories", json={"name": "Garden & Patio"}, headers=staff
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "slug": "garden-patio",
        "name": "Garden & Patio",
        "description": "",
        "attribute_labels": {},
        "product_count": 0,
    }
    make_product(category="garden-patio")
    make_product(category="garden-patio", active=False)
    make_product()  # in the "clothing" fixture category
    listing = client.get("/api/catalog/categories").get_json()["items"]
    assert [(c["slug"], c["product_count"]) for c in listing] == [
        ("clothing", 1),
        ("garden-patio", 1),
    ]


def test_category_slugs_are_unique(client, staff, category, assert_error):
    response = client.post(
        "/api/catalog/categories", json={"name": "Clothes", "slug": category}, headers=staff
    )
    error = assert_error(response, 409, "conflict")
    assert "slug" in error["fields"]


def test_category_validation(client, staff, assert_error):
    for body in ({}, {"name": ""}, {"name": "x" * 101}, {"name": "Ok", "slug": "Not Ok"}):
        assert_error(client.post("/api/catalog/categories", json=body, headers=staff), 422)
    error = assert_error(
        client.post("/api/catalog/categories", json={"name": "!!"}, headers=staff), 422
    )
    assert "slug" in error["fields"]
