"""Bad requests get a clear 4xx in the one JSON error shape, through the gateway."""

from __future__ import annotations

from helpers import assert_error


def test_health_is_ok_when_every_upstream_is(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_request_id_is_returned_and_propagated(client):
    response = client.get("/api/auth/jwks", headers={"X-Request-ID": "test-req-123"})
    assert response.headers["x-request-id"] == "test-req-123"
    generated = client.get("/api/auth/jwks").headers["x-request-id"]
    assert generated and generated != "test-req-123"


def test_malformed_json(client):
    response = client.post(
        "/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


def test_missing_fields_are_named(client):
    error = assert_error(client.post("/api/auth/register", json={}), 422, "validation_error")
    assert {"email", "password"} <= set(error["fields"])


def test_wrong_types(client):
    error = assert_error(
        client.post("/api/auth/register", json={"email": 42, "password": ["x"]}),
        422,
        "validation_error",
    )
    assert "email" in error["fields"] or "password" in error["fields"]


def test_unknown_routes(client):
    assert_error(client.get("/api/no-such-thing"), 404)
    assert_error(client.get("/api/auth/no-such-thing"), 404)


def test_wrong_method(client):
    assert_error(client.get("/api/auth/login"), 405)


def test_oversized_body(client):
    response = client.post(
        "/api/auth/register",
        content=b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413)


def test_unauthenticated_profile(client):
    response = client.get("/api/users/me")
    assert_error(response, 401)
