"""Operator injection: no client-chosen key starting with "$" or containing "." ever reaches a
query or a document, wherever it is sent (JSON bodies, attributes, query filters, paths)."""

from __future__ import annotations

import pytest

VALID = {"sku": "INJ-1", "name": "Thing", "price": "5.00", "category": "clothing"}

BODIES = [
    {**VALID, "$where": "sleep(1000)"},
    {**VALID, "sku": {"$ne": None}},
    {**VALID, "category": {"$gt": ""}},
    {**VALID, "price": {"$gt": "0"}},
    {**VALID, "attributes": {"$set": {"price_minor": 0}}},
    {**VALID, "attributes": {"color.name": "red"}},
    {**VALID, "attributes": {"size": {"$gt": 1}}},
    {**VALID, "attributes": {"size": {"eu": {"$in": [1]}}}},
    {**VALID, "attributes": {"": 1}},
    {**VALID, "available": 1000},
    {**VALID, "reservations": {"x": 1}},
    {**VALID, "pending": {"x": "change"}},
    {**VALID, "_id": "chosen"},
]


@pytest.mark.parametrize("body", BODIES)
def test_product_bodies_with_operators_dotted_or_internal_keys_are_refused(
    client, staff, category, body, assert_error
):
    assert_error(client.post("/api/catalog/products", json=body, headers=staff), 422)
    assert client.get("/api/catalog/products").get_json()["total"] == 0


def test_patch_bodies_with_operators_are_refused(client, staff, make_product, assert_error):
    product = make_product(price="5.00")
    url = f"/api/catalog/products/{product['_id']}"
    for body in (
        {"$set": {"price_minor": 1}},
        {"attributes": {"$unset": ""}},
        {"attributes": {"a.b": 1}},
        {"price_minor": 1},
        {"version": 99},
        {"name": {"$regex": ".*"}},
    ):
        assert_error(client.patch(url, json=body, headers=staff), 422)
    assert client.get(url).get_json()["price"] == "5.00"


@pytest.mark.parametrize(
    "query",
    [
        "attr.$where=1",
        "attr.color.name=red",
        "attr.=red",
        "attr.$gt=",
        "$where=1",
        "category[$ne]=x",
        "price_minor[$gt]=0",
        "active=false",
    ],
)
def test_query_parameters_naming_operators_or_paths_are_refused(client, query, assert_error):
    assert_error(client.get(f"/api/catalog/products?{query}"), 422, "validation_error")


def test_operator_looking_values_are_plain_strings(client, make_product, assert_error):
    make_product(attributes={"color": "red"})
    assert client.get("/api/catalog/products?attr.color=red").get_json()["total"] == 1
    # As values: plain strings that match nothing (an operator would have matched "red").
    for query in ('attr.color={"$ne":"x"}', 'q={"$gt":""}'):
        response = client.get(f"/api/catalog/products?{query}")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["total"] == 0, query
    # In a name: not an attribute name at all.
    error = assert_error(
        client.get("/api/catalog/products?attr.color[$ne]=blue"), 422, "validation_error"
    )
    assert list(error["fields"]) == ["attr.color[$ne]"]


def test_quote_lines_with_operators_are_refused(client, customer, assert_error):
    for lines in (
        [{"product_id": {"$gt": ""}, "quantity": 1}],
        [{"product_id": "x", "quantity": {"$gt": 0}}],
        [{"product_id": "x", "quantity": 1, "$where": "1"}],
    ):
        assert_error(
            client.post("/api/catalog/quotes", json={"lines": lines}, headers=customer), 422
        )


def test_category_bodies_with_operators_are_refused(client, staff, assert_error):
    for body in ({"name": {"$gt": ""}}, {"name": "Shoes", "slug": "$shoes"}, {"_id": "x"}):
        assert_error(client.post("/api/catalog/categories", json=body, headers=staff), 422)


def test_path_values_are_only_ever_values(client, make_product, assert_error):
    make_product()
    for path in ("%24ne", "%7B%22%24ne%22%3A1%7D", "a.b"):
        assert_error(client.get(f"/api/catalog/products/{path}"), 404)
