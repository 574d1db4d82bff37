"""Health, OpenAPI, authentication, and the platform's one error shape for every 4xx."""

from __future__ import annotations

from urllib.parse import urlsplit

from orders.settings import Settings


def test_health_checks_the_database_and_the_broker(client):
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": {"status": "ok"}, "broker": {"status": "ok"}}


def test_health_is_503_when_the_broker_is_down(settings, db):
    from fastapi.testclient import TestClient

    from orders.app import create_app

    broken = Settings(**{**settings.model_dump(), "redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"
    assert response.json()["checks"]["database"] == {"status": "ok"}


def test_database_down_is_a_503_with_retry_after(settings, db, products, user, assert_error):
    """PostgreSQL restarting: the request did nothing and can be retried; not a 500."""
    from fastapi.testclient import TestClient

    from devstack.servers import free_port
    from orders.app import create_app

    parts = urlsplit(settings.orders_database_url)
    credentials = parts.netloc.rsplit("@", 1)[0]
    unreachable = parts._replace(netloc=f"{credentials}@127.0.0.1:{free_port()}").geturl()
    broken = Settings(**{**settings.model_dump(), "orders_database_url": unreachable})
    with TestClient(create_app(broken)) as client:
        listing = client.get("/api/orders", headers=user.headers)
        checkout = client.post(
            "/api/orders", json={"lines": [{"product_id": products["mug"], "quantity": 1}]},
            headers=user.headers,
        )  # fmt: skip
    for response in (listing, checkout):
        assert_error(response, 503, "service_unavailable")
        assert response.headers["retry-after"] == "2"


def test_openapi_describes_every_route(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/api/cart",
        "/api/cart/items/{product_id}",
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/orders/{order_id}/cancel",
        "/api/orders/{order_id}/events",
        "/api/reports/sales",
    } <= set(spec["paths"])


def test_the_live_stream_documents_its_events(client):
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/orders/{order_id}/events"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    schema = ok["content"]["text/event-stream"]["schema"]
    assert schema == {"$ref": "#/components/schemas/OrderStatusEvent"}
    event = spec["components"]["schemas"]["OrderStatusEvent"]
    assert {"order_id", "status", "version", "reasons", "updated_at"} == set(event["properties"])
    assert "event: status" in ok["description"]


def _error_statuses(operation: dict) -> set[str]:
    """The documented statuses answered in the platform's error shape."""
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    return {
        status
        for status, response in operation["responses"].items()
        if response.get("content", {}).get("application/json", {}).get("schema") == error
    }


def test_openapi_documents_the_errors_really_answered(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    # no FastAPI "HTTPValidationError": validation errors are 422 in the platform shape
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "ValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]
    assert _error_statuses(paths["/api/cart"]["get"]) == {"401", "503"}
    assert _error_statuses(paths["/api/cart/items/{product_id}"]["put"]) == {
        "400",
        "401",
        "413",
        "422",
        "503",
    }
    assert _error_statuses(paths["/api/orders"]["post"]) == {"400", "401", "413", "422", "503"}
    assert _error_statuses(paths["/api/orders"]["get"]) == {"401", "403", "422", "503"}
    assert _error_statuses(paths["/api/orders/{order_id}/cancel"]["post"]) >= {"404", "409"}
    assert _error_statuses(paths["/api/orders/{order_id}/events"]["get"]) >= {"401", "404"}
    assert _error_statuses(paths["/api/reports/sales"]["get"]) == {"401", "403", "422", "503"}
    for path, item in paths.items():
        for method, operation in item.items():
            assert "422" not in operation["responses"] or _error_statuses(operation) >= {"422"}, (
                method,
                path,
            )


def test_a_token_is_required_and_checked(client, assert_error, make_token, user):
    assert client.get("/api/orders", headers=user.headers).status_code == 200
    error = assert_error(client.get("/api/orders"), 401, "not_authenticated")
    assert "not provided" in error["message"]
    assert client.get("/api/orders").headers["www-authenticate"] == 'Bearer realm="microservicehub"'
    forged = client.get("/api/orders", headers={"Authorization": "Bearer nonsense"})
    assert_error(forged, 401, "invalid_token")
    assert forged.headers["www-authenticate"].startswith(
        'Bearer realm="microservicehub", error="invalid_token"'
    )
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "token abc"):
        other = client.get("/api/orders", headers={"Authorization": header})
        assert_error(other, 401, "invalid_token")
        assert 'error="invalid_request"' in other.headers["www-authenticate"], header
    expired = make_token(user.id, exp=1)
    assert_error(
        client.get("/api/orders", headers={"Authorization": f"Bearer {expired}"}),
        401,
        "invalid_token",
    )


def test_unknown_routes_and_methods_answer_json(client, assert_error, user):
    assert_error(client.get("/api/nowhere"), 404, "not_found")
    assert_error(client.delete("/api/orders", headers=user.headers), 405, "method_not_allowed")


def test_validation_errors_are_422_with_fields(client, assert_error, user):
    error = assert_error(
        client.post(
            "/api/orders",
            json={"lines": [{"product_id": "p1", "quantity": 0}]},
            headers=user.headers,
        ),
        422,
        "validation_error",
    )
    assert list(error["fields"]) == ["lines.0.quantity"]
    error = assert_error(
        client.get("/api/orders?page=0", headers=user.headers), 422, "validation_error"
    )
    assert "page" in error["fields"]
    error = assert_error(
        client.post("/api/orders", json={"lines": [], "extra": 1}, headers=user.headers),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"lines", "extra"}


def test_a_body_that_is_not_json_is_malformed(client, assert_error, user):
    response = client.post(
        "/api/orders",
        content=b"{not json",
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "bad_request")


def test_a_body_over_the_cap_is_413(client, assert_error, user, settings):
    big = b'{"lines": [' + b" " * settings.orders_max_body_bytes + b"]}"
    response = client.post(
        "/api/orders", content=big, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")

    def chunks():
        yield b'{"lines": ['
        for _ in range(settings.orders_max_body_bytes // 1000 + 1):
            yield b" " * 1000
        yield b"]}"

    response = client.post(
        "/api/orders",
        content=chunks(),
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


def test_production_refuses_the_development_database_password():
    import pytest

    from msh_common.secrets import InsecureConfiguration

    url = "postgres://msh:msh-dev-insecure-password@127.0.0.1:5432/orders"
    with pytest.raises(InsecureConfiguration, match="ORDERS_DATABASE_URL"):
        Settings(environment="production", orders_database_url=url, redis_url="redis://x")
    ok = Settings(orders_database_url=url, redis_url="redis://x")
    assert ok.database_url.startswith("postgresql+psycopg://")
    assert ok.resolved_jwks_url == "http://127.0.0.1:8001/api/auth/jwks"
