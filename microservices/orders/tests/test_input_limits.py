"""Hostile input answers a 4xx in the error shape, never a 500: JSON nested too deeply, a
product name with control characters that came from the catalog, report dates the calendar
cannot step past."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from msh_common.jsonbody import MAX_JSON_DEPTH
from orders.store.models import OrderLine

JSON = {"Content-Type": "application/json"}
TOO_DEEP = f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)."


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 20_000])
def test_a_deeply_nested_checkout_is_a_400(client, user, assert_error, depth):
    body = b'{"lines": ' + nested(depth) + b"}"
    response = client.post("/api/orders", content=body, headers={**user.headers, **JSON})
    assert assert_error(response, 400, "bad_request")["message"] == TOO_DEEP


def test_a_deeply_nested_cart_item_is_a_400_even_streamed(client, user, assert_error):
    def chunks():
        yield b'{"quantity": '
        yield nested(1_000)
        yield b"}"

    response = client.put("/api/cart/items/p1", content=chunks(), headers={**user.headers, **JSON})
    assert assert_error(response, 400, "bad_request")["message"] == TOO_DEEP


def test_a_nul_in_a_catalog_product_name_is_cleaned_at_checkout(
    client, user, products, catalog_db, db
):
    """A name stored before the catalog refused control characters (written straight into its
    database here, as old data would be) must not reach PostgreSQL, which refuses NUL."""
    mug = products["mug"]
    catalog_db["products"].update_one({"_id": mug}, {"$set": {"name": "Red\x00mug\x1b"}})
    cart = client.put(f"/api/cart/items/{mug}", json={"quantity": 1}, headers=user.headers)
    assert cart.status_code == 200, cart.text
    response = client.post(
        "/api/orders", json={"lines": [{"product_id": mug, "quantity": 2}]}, headers=user.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["lines"][0]["name"] == "Red mug "
    with db.transaction() as session:
        assert session.scalars(select(OrderLine.name)).all() == ["Red mug "]


def test_a_ten_year_monthly_report_is_fine(client, staff):
    response = client.get(
        "/api/reports/sales",
        params={"from": "2016-01-01", "to": "2025-12-31", "group_by": "month"},
        headers=staff.headers,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["periods"]) == 120


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "9999-12-25", "to": "9999-12-31", "group_by": "week"}, "to"),
        ({"from": "9999-12-01", "to": "9999-12-31", "group_by": "month"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "1969-12-31", "to": "1970-01-02"}, "from"),
        ({"to": "0001-01-05"}, "to"),
        ({"from": "0001-01-01", "to": "1970-01-31", "group_by": "week"}, "from"),
        ({"from": "1990-01-01", "to": "2026-01-01", "group_by": "month"}, "to"),
    ],
)
def test_report_dates_out_of_range_are_a_422_naming_the_field(
    client, staff, assert_error, params, field
):
    response = client.get("/api/reports/sales", params=params, headers=staff.headers)
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == [field]
