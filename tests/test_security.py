"""Hostile input, refused the right way through the gateway AND by each service on its own
(straight at its internal URL, as an attacker inside the network would): forged tokens,
rotated-out refresh tokens, other users' orders, customers calling staff endpoints, MongoDB
operators in catalog input, SQL metacharacters in orders input, oversized bodies, forged
identity and forwarding headers, a login brute force. After each refusal nothing changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import (
    PASSWORD,
    assert_error,
    bearer,
    claims_for,
    login,
    new_product,
    orders_db,
    place_order,
    register,
    staff_token,
    start_gateway_process,
)

SQL = "' OR 1=1 --"
# Keys are printable ASCII without spaces: SQL squeezed into that alphabet.
EVIL_KEY = "'OR'1'='1'--;DELETE/**/FROM/**/orders;--"
SQL_VARIANTS = [SQL, "1; DROP TABLE orders; --", '" OR ""="', "0' UNION SELECT * FROM orders --"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def key(stack):
    path = sorted(stack.keys_dir.glob("*.pem"))[-1]
    return path.read_bytes(), path.stem


@pytest.fixture(scope="module")
def staff(stack):
    with stack.client() as client:
        return staff_token(client, stack)


@pytest.fixture(scope="module")
def alice(stack):
    """A customer: her user, her tokens."""
    with stack.client() as client:
        user = register(client)
        return {**user, **login(client, user["email"])}


@pytest.fixture(scope="module")
def bob(stack):
    with stack.client() as client:
        user = register(client)
        return {**user, **login(client, user["email"])}


@pytest.fixture(scope="module")
def product(stack, staff):
    with stack.client() as client:
        return new_product(client, staff, stock=50)


@pytest.fixture(scope="module")
def alice_order(stack, alice, product):
    with stack.client() as client:
        response = place_order(client, alice["access"], [(product["id"], 1)])
        assert response.status_code in (201, 202), response.text
        return response.json()


def direct(stack, service: str) -> httpx.Client:
    return httpx.Client(base_url=stack.env[f"{service.upper()}_URL"], timeout=15)


def where(stack, via: str) -> str:
    return stack.url if via == "gateway" else stack.env[f"{via.upper()}_URL"]


def product_count(client: httpx.Client, staff: str) -> int:
    response = client.get(
        "/api/catalog/products",
        params={"include_inactive": "true", "page_size": 1},
        headers=bearer(staff),
    )
    assert response.status_code == 200, response.text
    return response.json()["total"]


def count_rows(stack, sql: str) -> int:
    with orders_db(stack) as db:
        return db.execute(sql).fetchone()[0]


def user_rows(stack) -> int:
    with stack.mainapp_db() as db:
        return db.execute("SELECT count(*) FROM accounts_user").fetchone()[0]


# --------------------------------------------------------------------------- forged tokens


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(kind: str, user: dict, key: tuple[bytes, str]) -> str:
    pem, kid = key
    if kind == "valid":
        return jwt.encode(
            claims_for(user), pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
        )
    if kind == "alg_none":
        header = {"alg": "none", "typ": "JWT", "kid": kid}
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_for(user)).encode())}."
    if kind == "hs256_public_key":
        public_pem = (
            serialization.load_pem_private_key(pem, password=None)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": kid}
        signing_input = (
            f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_for(user)).encode())}"
        )
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(signature)}"
    if kind == "expired":
        past = int(time.time()) - 3600
        claims = claims_for(user, iat=past, exp=past + 300)
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    if kind == "wrong_iss":
        claims = claims_for(user, iss="https://evil.example")
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    if kind == "wrong_aud":
        claims = claims_for(user, aud="someone-else")
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    if kind == "unknown_kid":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(
            claims_for(user), other, algorithm="RS256", headers={"kid": "no-such", "typ": "at+jwt"}
        )
    if kind == "other_key_same_kid":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(
            claims_for(user), other, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
        )
    if kind == "refresh_as_access":
        claims = claims_for(user, token_type="refresh")
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    raise AssertionError(kind)


FORGERIES = [
    "alg_none",
    "hs256_public_key",
    "expired",
    "wrong_iss",
    "wrong_aud",
    "unknown_kid",
    "other_key_same_kid",
    "refresh_as_access",
]


def protected_call(client: httpx.Client, service: str, token: str) -> httpx.Response:
    """One call per service that needs a valid token (and, for catalog, staff) to succeed."""
    if service == "mainapp":
        return client.get("/api/users/me", headers=bearer(token))
    if service == "catalog":
        sku = f"FORGED-{uuid.uuid4().hex[:8].upper()}"
        body = {"sku": sku, "name": f"Forged {sku}", "price": "1.00", "category": "orders-tests"}
        return client.post("/api/catalog/products", json=body, headers=bearer(token))
    return client.get("/api/orders", params={"scope": "all"}, headers=bearer(token))


@pytest.mark.parametrize("service", ["mainapp", "catalog", "orders"])
@pytest.mark.parametrize("via", ["gateway", "direct"])
def test_forged_tokens_are_refused_at_the_edge_and_by_each_service(
    stack, key, alice, staff, product, service, via
):
    base = stack.url if via == "gateway" else stack.env[f"{service.upper()}_URL"]
    with httpx.Client(base_url=base, timeout=15) as client, stack.client() as gateway:
        # The real key works, so each refusal below is about the forgery, not the call.
        assert protected_call(client, service, forge("valid", alice, key)).status_code in (
            200,
            201,
        )
        products_before, users_before = product_count(gateway, staff), user_rows(stack)
        for kind in FORGERIES:
            response = protected_call(client, service, forge(kind, alice, key))
            assert response.status_code == 401, (kind, response.text)
            assert_error(response, 401)
        assert product_count(gateway, staff) == products_before
        assert user_rows(stack) == users_before


@pytest.mark.parametrize("service", ["mainapp", "catalog", "orders"])
def test_identity_headers_without_a_token_are_not_trusted_by_services(stack, staff, service):
    """Straight at a service: X-User-* headers (what the gateway sets) alone grant nothing."""
    spoofed = {
        "X-User-Id": str(uuid.uuid4()),
        "X-User-Roles": "staff",
        "X-User-Email": "admin@example.com",
    }
    with direct(stack, service) as client, stack.client() as gateway:
        before = product_count(gateway, staff)
        if service == "mainapp":
            response = client.get("/api/users/me", headers=spoofed)
        elif service == "catalog":
            response = client.post(
                "/api/catalog/products",
                json={"sku": "SPOOF-1", "name": "Spoof", "price": "1.00", "category": "x"},
                headers=spoofed,
            )
        else:
            response = client.get("/api/reports/sales", headers=spoofed)
        assert_error(response, 401)
        assert product_count(gateway, staff) == before


# --------------------------------------------------------------------------- refresh rotation


@pytest.mark.parametrize("via", ["gateway", "mainapp"])
def test_rotated_out_refresh_token_is_refused(stack, via):
    with stack.client() as gateway:
        user = register(gateway)
    with httpx.Client(base_url=where(stack, via), timeout=15) as client:
        first = login(client, user["email"])
        response = client.post("/api/auth/refresh", json={"refresh": first["refresh"]})
        assert response.status_code == 200, response.text
        assert_error(client.post("/api/auth/refresh", json={"refresh": first["refresh"]}), 401)
        # A refresh token is not an access token either.
        assert_error(client.get("/api/users/me", headers=bearer(first["refresh"])), 401)


# --------------------------------------------------------------------------- authorization


@pytest.mark.parametrize("via", ["gateway", "orders"])
def test_another_users_order_is_not_found(stack, alice, bob, alice_order, via):
    order_id = alice_order["id"]
    with httpx.Client(base_url=where(stack, via), timeout=15) as client:
        status_before = client.get(
            f"/api/orders/{order_id}", headers=bearer(alice["access"])
        ).json()["status"]
        assert_error(client.get(f"/api/orders/{order_id}", headers=bearer(bob["access"])), 404)
        assert_error(
            client.post(f"/api/orders/{order_id}/cancel", headers=bearer(bob["access"])), 404
        )
        mine = client.get("/api/orders", headers=bearer(bob["access"])).json()
        assert all(item["id"] != order_id for item in mine["items"])
        # The saga may move it on meanwhile, but Bob's cancel did not take.
        after = client.get(f"/api/orders/{order_id}", headers=bearer(alice["access"])).json()
        assert after["status"] != "cancelled" or status_before == "cancelled"


@pytest.mark.parametrize("via", ["gateway", "catalog", "orders"])
def test_customer_on_staff_endpoints_is_forbidden_even_with_forged_identity_headers(
    stack, alice, staff, product, via
):
    """A customer's valid token, plus X-User-Roles: staff and X-User-Id of someone else, and
    X-Forwarded-For of an inside address: still a customer."""
    headers = {
        **bearer(alice["access"]),
        "X-User-Roles": "staff",
        "X-User-Id": str(uuid.uuid4()),
        "X-Forwarded-For": "127.0.0.1, 10.0.0.1",
        "X-Real-IP": "10.0.0.1",
    }
    calls = []
    if via in ("gateway", "catalog"):
        pid = product["id"]
        calls += [
            ("POST", "/api/catalog/products", {"sku": "CUST-1", "name": "x", "price": "1.00"}),
            ("PATCH", f"/api/catalog/products/{pid}", {"price": "0.01"}),
            ("POST", f"/api/catalog/products/{pid}/stock", {"quantity": 1000}),
            ("POST", f"/api/catalog/products/{pid}/deactivate", None),
            ("DELETE", f"/api/catalog/products/{pid}", None),
            ("POST", "/api/catalog/categories", {"name": "Hacked", "slug": "hacked"}),
            ("PATCH", f"/api/catalog/categories/{product['category']}", {"name": "Hacked"}),
            ("POST", f"/api/catalog/images?product_id={pid}", None),
            ("DELETE", "/api/catalog/images/" + "a" * 32, None),
        ]
    if via in ("gateway", "orders"):
        calls += [
            ("GET", "/api/reports/sales", None),
            ("GET", "/api/orders?scope=all", None),
        ]
    with httpx.Client(base_url=where(stack, via), timeout=15) as client, stack.client() as gw:
        before = gw.get(f"/api/catalog/products/{product['id']}").json()
        count = product_count(gw, staff)
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers=headers)
            assert_error(response, 403)
        after = gw.get(f"/api/catalog/products/{product['id']}").json()
        assert (after["price"], after["available"], after["active"], after["images"]) == (
            before["price"],
            before["available"],
            before["active"],
            before["images"],
        )
        assert product_count(gw, staff) == count
        categories = gw.get("/api/catalog/categories").json()
        assert "hacked" not in json.dumps(categories).lower()


# --------------------------------------------------------------------------- NoSQL injection

MONGO_QUERIES = [
    {"q[$ne]": ""},
    {"q": '{"$ne": ""}'},
    {"category[$ne]": "x"},
    {"attr.$where": "1"},
    {"attr.$gt": ""},
    {"attr.a.b": "1"},
    {"attr.color[$ne]": "red"},
    {"$where": "sleep(1000)"},
    {"min_price[$gt]": "0"},
    {"sort": "$natural"},
    {"include_inactive[$ne]": "false"},
    {"page[$gt]": "0"},
    {"currency[$in]": "EUR"},
]


@pytest.mark.parametrize("via", ["gateway", "catalog"])
def test_mongodb_operators_in_catalog_input_are_refused(stack, alice, staff, product, via):
    pid = product["id"]
    with httpx.Client(base_url=where(stack, via), timeout=15) as client, stack.client() as gw:
        before = gw.get(f"/api/catalog/products/{pid}").json()
        count = product_count(gw, staff)
        for params in MONGO_QUERIES:
            response = client.get("/api/catalog/products", params=params)
            if response.status_code == 200:
                # Taken as plain text, never as an operator: it matched nothing special.
                assert response.json()["total"] < count, (params, response.text)
            else:
                assert 400 <= response.status_code < 500, (params, response.text)
                assert_error(response, response.status_code)
        for path in [
            '/api/catalog/products/{"$ne":null}',
            "/api/catalog/products/$where",
            '/api/catalog/products/by-slug/{"$gt":""}',
            "/api/catalog/products/by-slug/$ne",
        ]:
            response = client.get(path)
            assert response.status_code in (404, 422), (path, response.text)
        good = {"sku": f"MONGO-{uuid.uuid4().hex[:6].upper()}", "name": "M", "price": "1.00"}
        bodies = [
            ("POST", "/api/catalog/products", {**good, "sku": {"$ne": ""}}),
            ("POST", "/api/catalog/products", {**good, "name": {"$gt": ""}}),
            ("POST", "/api/catalog/products", {**good, "attributes": {"$where": "1"}}),
            ("POST", "/api/catalog/products", {**good, "attributes": {"a.b": "1"}}),
            ("POST", "/api/catalog/products", {**good, "attributes": {"x": {"$gt": 1}}}),
            ("POST", "/api/catalog/products", {**good, "category": {"$ne": None}}),
            ("POST", "/api/catalog/products", {**good, "$set": {"price_minor": 0}}),
            ("POST", "/api/catalog/products", {**good, "price_minor": 0}),
            ("PATCH", f"/api/catalog/products/{pid}", {"$set": {"price_minor": 1}}),
            ("PATCH", f"/api/catalog/products/{pid}", {"price_minor": 1}),
            ("PATCH", f"/api/catalog/products/{pid}", {"available": 10**6}),
            ("PATCH", f"/api/catalog/products/{pid}", {"attributes.color": "red"}),
            ("PATCH", f"/api/catalog/products/{pid}", {"attributes": {"$inc": {"x": 1}}}),
            ("PATCH", f"/api/catalog/products/{pid}", {"name": {"$set": "x"}}),
            ("POST", f"/api/catalog/products/{pid}/stock", {"quantity": {"$inc": 5}}),
            ("POST", f"/api/catalog/products/{pid}/stock", {"$inc": {"available": 5}}),
            ("POST", "/api/catalog/categories", {"name": "C", "slug": {"$gt": ""}}),
            ("POST", "/api/catalog/categories", {"name": {"$ne": ""}, "slug": "c-ne"}),
            ("POST", "/api/catalog/categories", {"name": "C", "slug": "c-x", "$set": {}}),
        ]
        quotes = [
            {"lines": [{"product_id": {"$ne": None}, "quantity": 1}]},
            {"lines": [{"product_id": pid, "quantity": {"$gt": 0}}]},
            {"lines": {"$where": "1"}},
            {"$where": "1", "lines": []},
        ]
        bodies += [("POST", "/api/catalog/quotes", body) for body in quotes]
        for method, path, body in bodies:
            token = alice["access"] if path.endswith("/quotes") else staff
            response = client.request(method, path, json=body, headers=bearer(token))
            assert 400 <= response.status_code < 500, (method, path, body, response.text)
            assert_error(response, response.status_code)
        after = gw.get(f"/api/catalog/products/{pid}").json()
        for field in ("price", "available", "reserved", "received", "name", "attributes"):
            assert after[field] == before[field], field
        assert product_count(gw, staff) == count


# --------------------------------------------------------------------------- SQL injection


@pytest.mark.parametrize("via", ["gateway", "orders"])
def test_sql_metacharacters_in_orders_input_are_harmless(
    stack, alice, bob, staff, alice_order, product, via
):
    total_orders = count_rows(stack, "SELECT count(*) FROM orders")
    from urllib.parse import quote

    with httpx.Client(base_url=where(stack, via), timeout=15) as client:
        bob_headers = bearer(bob["access"])
        for evil in SQL_VARIANTS:
            for method, path, params in [
                ("GET", f"/api/orders/{quote(evil, safe='')}", None),
                ("POST", f"/api/orders/{quote(evil, safe='')}/cancel", None),
                ("GET", "/api/orders", {"status": evil}),
                ("GET", "/api/orders", {"scope": evil}),
                ("GET", "/api/orders", {"page": evil}),
                ("GET", "/api/orders", {"page_size": evil}),
                ("PUT", f"/api/cart/items/{quote(evil, safe='')}", None),
                ("GET", "/api/reports/sales", {"from": evil}),
                ("GET", "/api/reports/sales", {"group_by": evil}),
                ("GET", "/api/reports/sales", {"top": evil}),
            ]:
                token = staff if path.startswith("/api/reports") else bob["access"]
                body = {"quantity": 1} if method == "PUT" else None
                response = client.request(
                    method, path, params=params, json=body, headers=bearer(token)
                )
                assert 400 <= response.status_code < 500, (method, path, params, response.text)
                assert_error(response, response.status_code)
            # In a body: a product id, a quantity.
            response = place_order(client, bob["access"], [(evil, 1)])
            assert 400 <= response.status_code < 500, response.text
            response = client.post(
                "/api/orders",
                json={"lines": [{"product_id": product["id"], "quantity": evil}]},
                headers=bob_headers,
            )
            assert 400 <= response.status_code < 500, response.text
            # In the Idempotency-Key: an empty cart is refused as for any key...
            response = client.post("/api/orders", headers={**bob_headers, "Idempotency-Key": evil})
            assert 400 <= response.status_code < 500, response.text
        # Bob sees none of Alice's orders, whatever he sends.
        listed = client.get("/api/orders", params={"status": SQL}, headers=bob_headers)
        assert listed.status_code in (400, 422) or listed.json()["total"] == 0
        mine = client.get("/api/orders", headers=bob_headers).json()
        assert mine["total"] == 0
    assert count_rows(stack, "SELECT count(*) FROM orders") == total_orders


def test_sql_metacharacters_in_an_idempotency_key_are_only_a_key(stack, product):
    """...and with real lines, a key full of SQL places exactly one order, replayed once."""
    with stack.client() as client:
        user = register(client)
        token = login(client, user["email"])["access"]
        before = count_rows(stack, "SELECT count(*) FROM orders")
        first = place_order(client, token, [(product["id"], 1)], key=EVIL_KEY)
        assert first.status_code == 202, first.text
        again = place_order(client, token, [(product["id"], 1)], key=EVIL_KEY)
        assert again.status_code == 202, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert count_rows(stack, "SELECT count(*) FROM orders") == before + 1


# --------------------------------------------------------------------------- oversized bodies

BIG = 2 * 1024 * 1024  # over every default limit (1 MiB)


@pytest.mark.parametrize(
    ("via", "path"),
    [
        ("gateway", "/api/auth/register"),
        ("gateway", "/api/catalog/products"),
        ("gateway", "/api/orders"),
        ("mainapp", "/api/auth/register"),
        ("catalog", "/api/catalog/products"),
        ("orders", "/api/orders"),
    ],
)
def test_oversized_bodies_are_refused(stack, staff, via, path):
    body = json.dumps(
        {"email": new_address(), "password": PASSWORD, "name": "x" * BIG}
        if "register" in path
        else {"sku": "BIG-1", "name": "x" * BIG, "price": "1.00"}
    )
    users = user_rows(stack)
    with httpx.Client(base_url=where(stack, via), timeout=30) as client:
        response = client.post(
            path,
            content=body,
            headers={**bearer(staff), "Content-Type": "application/json"},
        )
        assert_error(response, 413)
    assert user_rows(stack) == users


def new_address() -> str:
    return f"big-{uuid.uuid4().hex[:10]}@example.com"


# --------------------------------------------------------------------------- brute force


def test_login_brute_force_is_throttled_whatever_x_forwarded_for_says(stack):
    base, _, _ = stack.env["REDIS_URL"].rpartition("/")
    url, process = start_gateway_process(
        stack, "gateway-brute", RATE_LIMIT_STRICT="5/minute", REDIS_URL=f"{base}/8"
    )
    try:
        with stack.client() as gateway:
            victim = register(gateway)
        with httpx.Client(base_url=url, timeout=15) as client:
            statuses = []
            for attempt in range(8):
                response = client.post(
                    "/api/auth/login",
                    json={"email": victim["email"], "password": f"guess-{attempt}"},
                    # A client pretending to be many clients: not believed (no trusted proxy).
                    headers={"X-Forwarded-For": f"203.0.113.{attempt}", "X-Real-IP": "1.2.3.4"},
                )
                statuses.append(response.status_code)
            assert statuses[:5] == [401] * 5, statuses
            assert statuses[5:] == [429] * 3, statuses
            assert_error(response, 429, "rate_limited")
            # The right password does not get through the limit either.
            response = client.post(
                "/api/auth/login", json={"email": victim["email"], "password": PASSWORD}
            )
            assert_error(response, 429, "rate_limited")
    finally:
        process.stop()
