"""Hostile input answers a 4xx in the error shape: JSON nested too deeply (400
``bad_request``), control characters in any text (422 ``validation_error`` on the field)."""

from __future__ import annotations

import pytest

from msh_common.jsonbody import MAX_JSON_DEPTH
from msh_common.text import MULTILINE_MESSAGE, SINGLE_LINE_MESSAGE

PRODUCT = {
    "sku": "MUG-001",
    "name": "Enamel mug",
    "description": "Holds 350 ml.\nDishwasher safe.\tRinse first.",
    "price": "12.50",
    "category": "clothing",
    "attributes": {"care": "Wash by hand.\nDry at once."},
}
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_product_with_line_breaks_in_its_description_is_created(client, staff, category):
    response = client.post("/api/catalog/products", json=PRODUCT, headers=staff)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["name"], body["description"]) == (PRODUCT["name"], PRODUCT["description"])


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 50_000])
def test_a_deeply_nested_quote_request_is_a_400(client, customer, assert_error, depth):
    body = '{"lines": ' + nested(depth) + "}"
    response = client.post("/api/catalog/quotes", data=body, headers={**customer, **JSON})
    error = assert_error(response, 400, "bad_request")
    assert error["message"] == f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)."


def test_a_deeply_nested_product_is_a_400_too(client, staff, assert_error, category):
    body = '{"attributes": {"a": ' + nested(1_000) + "}}"
    response = client.post("/api/catalog/products", data=body, headers={**staff, **JSON})
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Mug\x00", SINGLE_LINE_MESSAGE),
        ("name", "Mug\nMug", SINGLE_LINE_MESSAGE),
        ("description", "Big\x00", MULTILINE_MESSAGE),
        ("description", "\x1b[2J", MULTILINE_MESSAGE),
    ],
)
def test_control_characters_in_product_text_are_refused_on_the_field(
    client, staff, category, assert_error, field, value, message
):
    response = client.post("/api/catalog/products", json={**PRODUCT, field: value}, headers=staff)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {field: [message]}


def test_control_characters_in_attributes_and_images_are_refused(
    client, staff, category, assert_error
):
    body = {**PRODUCT, "attributes": {"color": "red\x00"}, "images": ["/a\x00b"]}
    error = assert_error(client.post("/api/catalog/products", json=body, headers=staff), 422)
    assert error["fields"] == {
        "attributes": [f"color: {MULTILINE_MESSAGE}"],
        "images.0": [SINGLE_LINE_MESSAGE],
    }


def test_a_patch_cannot_put_a_nul_into_a_name(client, staff, make_product, assert_error):
    product = make_product("Mug")
    response = client.patch(
        f"/api/catalog/products/{product['_id']}", json={"name": "M\x00ug"}, headers=staff
    )
    assert assert_error(response, 422, "validation_error")["fields"] == {
        "name": [SINGLE_LINE_MESSAGE]
    }


def test_category_text_is_checked_too(client, staff, assert_error):
    body = {"name": "Kitchen\x7f", "description": "Pots.\nPans."}
    error = assert_error(client.post("/api/catalog/categories", json=body, headers=staff), 422)
    assert error["fields"] == {"name": [SINGLE_LINE_MESSAGE]}


def test_search_and_attribute_filters_refuse_control_characters(client, assert_error):
    response = client.get("/api/catalog/products", query_string={"q": "mug\x00"})
    assert assert_error(response, 422, "validation_error")["fields"] == {"q": [SINGLE_LINE_MESSAGE]}
    response = client.get("/api/catalog/products", query_string={"attr.color": "r\x00ed"})
    assert assert_error(response, 422, "validation_error")["fields"] == {
        "attr.color": [MULTILINE_MESSAGE]
    }


def test_a_quote_for_a_product_id_with_a_nul_is_refused(client, customer, assert_error):
    body = {"lines": [{"product_id": "abc\x00", "quantity": 1}]}
    response = client.post("/api/catalog/quotes", json=body, headers=customer)
    assert assert_error(response, 422, "validation_error")["fields"] == {
        "lines.0.product_id": [SINGLE_LINE_MESSAGE]
    }
