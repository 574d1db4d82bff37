"""A shopper's identity through the gateway: register, log in, use and rotate tokens."""

from __future__ import annotations

import jwt
from helpers import PASSWORD, assert_error, bearer, login, new_email, register


def test_register_login_me_refresh_reuse_logout(client):
    email = new_email()
    user = register(client, email)
    assert user["email"] == email
    assert user["roles"] == ["customer"]
    assert not any("password" in key for key in user)

    tokens = login(client, email)
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    assert claims["sub"] == str(user["id"])
    assert jwt.get_unverified_header(tokens["access"])["alg"] == "RS256"

    me = client.get("/api/users/me", headers=bearer(tokens["access"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email

    refreshed = client.post("/api/auth/refresh", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    new_tokens = refreshed.json()
    assert new_tokens["refresh"] != tokens["refresh"]
    assert client.get("/api/users/me", headers=bearer(new_tokens["access"])).status_code == 200

    reused = client.post("/api/auth/refresh", json={"refresh": tokens["refresh"]})
    assert_error(reused, 401)

    logout = client.post("/api/auth/logout", json={"refresh": new_tokens["refresh"]})
    assert logout.status_code == 204, logout.text
    after_logout = client.post("/api/auth/refresh", json={"refresh": new_tokens["refresh"]})
    assert_error(after_logout, 401)


def test_wrong_password_is_refused(client):
    email = register(client)["email"]
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD + "x"})
    assert_error(response, 401)


def test_jwks_is_published_at_both_addresses(client):
    for path in ("/api/auth/jwks", "/.well-known/jwks.json"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        keys = response.json()["keys"]
        assert keys and all(key["kty"] == "RSA" and key["alg"] == "RS256" for key in keys)
        assert all("d" not in key for key in keys), "a private key part is published"


def test_access_token_verifies_with_the_published_key(client):
    tokens = login(client, register(client)["email"])
    kid = jwt.get_unverified_header(tokens["access"])["kid"]
    jwks = client.get("/api/auth/jwks").json()
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        tokens["access"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="microservicehub",
        issuer="microservicehub",
    )
    assert claims["exp"] - claims["iat"] == 300
    assert {"sub", "roles", "jti"} <= set(claims) and "email" not in claims
    assert jwt.get_unverified_header(tokens["access"])["typ"] == "at+jwt"  # RFC 9068


def test_a_refresh_token_is_refused_as_an_access_token_by_every_service(client, stack):
    """By its header (typ: rt+jwt), at the gateway and at each service behind it."""
    refresh = login(client, register(client)["email"])["refresh"]
    targets = {
        "gateway": f"{stack.url}/api/users/me",
        "mainapp": f"http://127.0.0.1:{stack.env['MAINAPP_PORT']}/api/users/me",
        "catalog": f"http://127.0.0.1:{stack.env['CATALOG_PORT']}/api/catalog/quotes",
        "orders": f"http://127.0.0.1:{stack.env['ORDERS_PORT']}/api/orders",
    }
    statuses = {
        name: client.request(
            "POST" if name == "catalog" else "GET", url, headers=bearer(refresh), json={}
        ).status_code
        for name, url in targets.items()
    }
    assert statuses == dict.fromkeys(targets, 401)
