"""The catalog verifies bearer tokens itself, with mainapp's public keys (JWKS)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog.app import create_app

QUOTE = {"lines": [{"product_id": "p", "quantity": 1}]}


def post_quote(client, token: str):
    return client.post(
        "/api/catalog/quotes", json=QUOTE, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 10},
        {"iss": "someone-else"},
        {"aud": "another-audience"},
        {"token_type": "refresh"},
    ],
)
def test_tokens_that_fail_a_check_are_401(client, make_token, claims, assert_error):
    assert_error(post_quote(client, make_token(**claims)), 401, "invalid_token")


def test_a_token_signed_by_another_key_is_401(client, make_token, assert_error):
    forged = make_token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert_error(post_quote(client, forged), 401, "invalid_token")


def test_unsigned_and_symmetric_tokens_are_401(client, assert_error):
    claims = {"sub": "1", "roles": ["staff"], "iss": "microservicehub", "aud": "microservicehub"}
    hs256 = jwt.encode(claims, "secret-secret-secret-secret-12345", headers={"kid": "test-key-1"})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "test-key-1"})
    for token in (hs256, unsigned, "not-a-jwt", "a.b.c"):
        assert_error(post_quote(client, token), 401)


def test_other_schemes_are_401(client, assert_error):
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "token abc", "Bearer ték"):
        response = client.post("/api/catalog/quotes", json=QUOTE, headers={"Authorization": header})
        assert_error(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith(
            'Bearer realm="microservicehub", error="invalid_request"'
        ), header
    response = client.post("/api/catalog/quotes", json=QUOTE)
    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="microservicehub"'


def test_staff_is_the_staff_role_of_a_valid_token(client, make_token, category):
    body = {"sku": "S-1", "name": "Thing", "price": "1.00", "category": category}
    for roles, status in ((("customer",), 403), (("staff",), 201), ((), 403)):
        token = make_token(roles=roles)
        response = client.post(
            "/api/catalog/products", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == status, (roles, response.get_json())


def test_when_no_key_can_be_fetched_the_answer_is_503(settings, store, make_token, assert_error):
    unreachable = settings.model_copy(update={"jwks_url": "http://127.0.0.1:9/jwks"})
    client = create_app(unreachable, store=store).test_client()
    assert_error(post_quote(client, make_token()), 503, "auth_unavailable")
