"""Inputs that once answered a 5xx, through the gateway AND straight at each service: JSON
nested 1,000 levels deep (a RecursionError), a product name holding NUL (accepted, then every
checkout naming it failed in PostgreSQL), report dates at the calendar's end (OverflowError).
Each is now a 4xx in the one error shape, naming what was wrong."""

from __future__ import annotations

import httpx
import pymongo
import pytest
from helpers import assert_error, bearer, new_product, place_order, shopper, staff_token

from msh_common.jsonbody import MAX_JSON_DEPTH
from msh_common.text import SINGLE_LINE_MESSAGE

TOO_DEEP = f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)."
DEEP = b"[" * 1_000 + b"]" * 1_000
JSON = {"Content-Type": "application/json"}
VIA = ["gateway", "direct"]


@pytest.fixture(scope="module")
def staff(stack) -> str:
    with stack.client() as client:
        return staff_token(client, stack)


@pytest.fixture(scope="module")
def customer(stack) -> tuple[dict, str]:
    with stack.client() as client:
        return shopper(client)


def reach(stack, via: str, service: str) -> httpx.Client:
    base = stack.url if via == "gateway" else stack.env[f"{service.upper()}_URL"]
    return httpx.Client(base_url=base, timeout=15)


# --------------------------------------------------------------------------- nesting depth


DEEP_CALLS = [
    ("mainapp", "POST", "/api/auth/login", b'{"email": ' + DEEP + b', "password": "x"}'),
    ("mainapp", "PATCH", "/api/users/me", b'{"name": ' + DEEP + b"}"),
    ("catalog", "POST", "/api/catalog/quotes", b'{"lines": ' + DEEP + b"}"),
    ("orders", "POST", "/api/orders", b'{"lines": ' + DEEP + b"}"),
]


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("service", "method", "path", "body"), DEEP_CALLS)
def test_json_nested_1000_deep_is_a_400(stack, customer, via, service, method, path, body):
    with reach(stack, via, service) as client:
        response = client.request(
            method, path, content=body, headers={**bearer(customer[1]), **JSON}
        )
    error = assert_error(response, 400, "bad_request")
    assert error["message"] == TOO_DEEP


# --------------------------------------------------------------------------- control characters


def test_a_normal_name_and_a_description_with_line_breaks_still_work(stack, staff):
    body = {"name": "Enamel mug, 350 ml", "description": "Blue.\nDishwasher safe.\tHand wash."}
    with stack.client() as client:
        product = new_product(client, staff, stock=0)
        response = client.patch(
            f"/api/catalog/products/{product['id']}", json=body, headers=bearer(staff)
        )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["description"]) == tuple(body.values())


@pytest.mark.parametrize("via", VIA)
def test_a_product_name_with_nul_is_refused(stack, staff, via):
    with stack.client() as client:
        new_product(client, staff, stock=0)  # the category exists
    body = {"sku": "NUL-1", "name": "Mug\x00", "price": "1.00", "category": "orders-tests"}
    with reach(stack, via, "catalog") as client:
        response = client.post("/api/catalog/products", json=body, headers=bearer(staff))
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"name": [SINGLE_LINE_MESSAGE]}


@pytest.mark.parametrize("via", VIA)
def test_a_profile_name_with_control_characters_is_refused(stack, customer, via):
    with reach(stack, via, "mainapp") as client:
        response = client.patch(
            "/api/users/me", json={"name": "Ann\x1b[31m"}, headers=bearer(customer[1])
        )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"name": [SINGLE_LINE_MESSAGE]}


@pytest.mark.parametrize("via", VIA)
def test_a_nul_already_in_the_catalog_no_longer_breaks_checkout(stack, staff, customer, via):
    """A name stored before the catalog refused control characters: written straight into its
    database, as old data would be. Orders cleans it where the catalog's answer comes in."""
    with stack.client() as client:
        product = new_product(client, staff, stock=5)
    with pymongo.MongoClient(stack.env["MONGO_URL"]) as mongo:
        mongo[stack.env["CATALOG_MONGO_DB"]]["products"].update_one(
            {"_id": product["id"]}, {"$set": {"name": "Broken\x00mug"}}
        )
    with reach(stack, via, "orders") as client:
        response = place_order(client, customer[1], [(product["id"], 1)])
    assert response.status_code == 202, response.text
    assert response.json()["lines"][0]["name"] == "Broken mug"


# --------------------------------------------------------------------------- report dates


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(
    "params",
    [
        {"from": "9999-12-25", "to": "9999-12-31", "group_by": "week"},
        {"from": "9999-12-01", "to": "9999-12-31", "group_by": "month"},
    ],
)
def test_report_dates_at_the_end_of_the_calendar_are_a_400(stack, staff, via, params):
    with reach(stack, via, "orders") as client:
        response = client.get("/api/reports/sales", params=params, headers=bearer(staff))
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"to": ["Must be from 1970-01-01 to 9998-12-31."]}
