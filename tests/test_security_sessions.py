"""Revocation reaches every verifier: after account deletion, logout, a password change or the
reuse of a rotated-out refresh token, the old access token is refused with 401 invalid_token
within 2 seconds at the gateway AND straight at orders' and catalog's own ports (each verifies
tokens itself, following mainapp's revocation stream in Redis)."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import PASSWORD, assert_error, bearer, login, new_product, register, staff_token

REVOCATION_DEADLINE = 2.0


@pytest.fixture(scope="module")
def product(stack):
    with stack.client() as client:
        return new_product(client, staff_token(client, stack), stock=5)


def calls(stack, token: str, product_id: str) -> dict[str, httpx.Response]:
    """One authenticated call per verifier: the gateway, orders and catalog directly."""
    quote = {"lines": [{"product_id": product_id, "quantity": 1}]}
    with (
        stack.client() as gateway,
        httpx.Client(base_url=stack.env["ORDERS_URL"], timeout=15) as orders,
        httpx.Client(base_url=stack.env["CATALOG_URL"], timeout=15) as catalog,
    ):
        return {
            "gateway": gateway.get("/api/cart", headers=bearer(token)),
            "orders": orders.get("/api/cart", headers=bearer(token)),
            "catalog": catalog.post("/api/catalog/quotes", json=quote, headers=bearer(token)),
        }


def assert_accepted(stack, token: str, product_id: str) -> None:
    for where, response in calls(stack, token, product_id).items():
        assert response.status_code == 200, (where, response.text)


def assert_refused_soon(stack, token: str, product_id: str) -> None:
    """Every verifier answers 401 invalid_token within REVOCATION_DEADLINE seconds."""
    start = time.monotonic()
    while True:
        answers = calls(stack, token, product_id)
        if all(response.status_code == 401 for response in answers.values()):
            break
        elapsed = time.monotonic() - start
        assert elapsed < REVOCATION_DEADLINE, {k: r.status_code for k, r in answers.items()}
        time.sleep(0.1)
    for response in answers.values():
        assert_error(response, 401, "invalid_token")


def new_user(client: httpx.Client) -> dict:
    user = register(client)
    return {**user, **login(client, user["email"])}


def test_account_deletion_revokes_its_access_tokens_everywhere(stack, client, product):
    user = new_user(client)
    assert_accepted(stack, user["access"], product["id"])
    response = client.request(
        "DELETE",
        "/api/users/me",
        json={"current_password": PASSWORD},
        headers=bearer(user["access"]),
    )
    assert response.status_code == 204, response.text
    assert_refused_soon(stack, user["access"], product["id"])


def test_logout_revokes_that_sessions_access_tokens_only(stack, client, product):
    user = new_user(client)
    other = login(client, user["email"])
    assert_accepted(stack, user["access"], product["id"])
    response = client.post("/api/auth/logout", json={"refresh": user["refresh"]})
    assert response.status_code == 204, response.text
    assert_refused_soon(stack, user["access"], product["id"])
    assert_accepted(stack, other["access"], product["id"])


def test_password_change_revokes_every_session_and_a_new_login_works(stack, client, product):
    user = new_user(client)
    other = login(client, user["email"])
    assert_accepted(stack, user["access"], product["id"])
    response = client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a-Different-phrase-77"},
        headers=bearer(user["access"]),
    )
    assert response.status_code == 204, response.text
    assert_refused_soon(stack, user["access"], product["id"])
    assert_refused_soon(stack, other["access"], product["id"])
    fresh = client.post(
        "/api/auth/login", json={"email": user["email"], "password": "a-Different-phrase-77"}
    )
    assert fresh.status_code == 200, fresh.text
    assert_accepted(stack, fresh.json()["access"], product["id"])


def test_refresh_token_reuse_revokes_the_whole_family(stack, client, product):
    user = new_user(client)
    rotated = client.post("/api/auth/refresh", json={"refresh": user["refresh"]})
    assert rotated.status_code == 200, rotated.text
    successor = rotated.json()
    assert_accepted(stack, successor["access"], product["id"])

    reused = client.post("/api/auth/refresh", json={"refresh": user["refresh"]})
    assert_error(reused, 401, "invalid_token")
    assert_refused_soon(stack, successor["access"], product["id"])
    assert_error(
        client.post("/api/auth/refresh", json={"refresh": successor["refresh"]}),
        401,
        "invalid_token",
    )
