"""Every error mainapp answers on the API is JSON in the one shape; /health and /api/schema."""

from __future__ import annotations

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400(api, assert_error):
    response = api.post("/api/auth/login", data=b"{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_unsupported_media_type_is_a_415(api, assert_error):
    response = api.post("/api/auth/login", data="email=a", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "path", ["/api/no-such-thing", "/api/auth/no-such-thing", "/api/users/me/", "/api/auth/login/"]
)
def test_unknown_routes_are_json_404s(api, path, assert_error):
    assert_error(api.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/auth/login"), ("put", "/api/users/me"), ("post", "/api/auth/jwks")],
)
def test_wrong_method_is_a_json_405(api, method, path, user, tokens, bearer, assert_error):
    response = getattr(api, method)(path, **bearer(tokens["access"]))
    assert_error(response, 405, "method_not_allowed")


def test_oversized_body_is_a_json_413(api, assert_error, settings):
    body = b'{"email": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    response = api.post("/api/auth/register", data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_a_body_just_under_the_limit_is_parsed(api, assert_error, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    body = b'{"email": "' + b"a" * 150 + b'"}'
    error = assert_error(
        api.post("/api/auth/register", data=body, content_type="application/json"), 422
    )
    assert "email" in error["fields"]


def test_health_is_ok_with_the_database_and_broker_up(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_schema_is_a_valid_openapi_3_document_listing_the_accounts_routes(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    schema = response.json()
    validate_schema(schema)  # raises if it is not valid OpenAPI 3
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/jwks",
        "/.well-known/jwks.json",
        "/api/auth/password-reset",
        "/api/auth/password-reset/confirm",
        "/api/users/me",
        "/api/users/me/password",
    } <= set(schema["paths"])
    register = schema["paths"]["/api/auth/register"]["post"]
    assert {"201", "400", "413", "422", "429"} <= set(register["responses"])
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/users/me"]["get"]["security"] == [{"jwtAuth": []}]
    assert schema["paths"]["/api/auth/login"]["post"]["security"] == [{}]  # anonymous


@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_503_with_retry_after(api, assert_error):
    """PostgreSQL restarting: the request did nothing and can be retried; not a 500."""
    from django.db import connection

    from devstack.servers import free_port

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())  # nothing listens there
    try:
        response = api.post(
            "/api/auth/login", {"email": "a@example.com", "password": "x"}, format="json"
        )
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "2"
