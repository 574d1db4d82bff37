"""Every error is the platform's JSON shape, never an HTML page; /health and /openapi.json."""

from __future__ import annotations

import socket

from catalog.app import create_app
from catalog.store import Store


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unknown_route_is_a_json_404(client, assert_error):
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.get("/api/catalog/nothing/here"), 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client, assert_error):
    response = client.put("/api/catalog/products", json={})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(client.delete("/api/catalog/categories"), 405)


def test_malformed_json_is_a_json_400(client, staff, assert_error):
    response = client.post(
        "/api/catalog/products", data="{bad", headers={**staff, "Content-Type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


def test_json_that_is_not_an_object_is_a_422(client, staff, assert_error):
    for body in ('"just a string"', "[1, 2]", "null"):
        response = client.post(
            "/api/catalog/products",
            data=body,
            headers={**staff, "Content-Type": "application/json"},
        )
        assert_error(response, 422, "validation_error")


def test_a_body_that_is_not_json_is_a_json_415(client, staff, assert_error):
    response = client.post(
        "/api/catalog/products", data="sku=x", headers={**staff, "Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_a_missing_body_is_a_validation_error(client, staff, assert_error):
    assert_error(client.post("/api/catalog/products", headers=staff), 422, "validation_error")


def test_bodies_over_one_mebibyte_are_a_json_413(client, staff, assert_error):
    big = '{"sku": "' + "x" * (1024 * 1024) + '"}'
    response = client.post(
        "/api/catalog/products", data=big, headers={**staff, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_validation_errors_name_each_field(client, staff, category, assert_error):
    response = client.post(
        "/api/catalog/products",
        json={"sku": "A", "name": "", "price": "abc", "category": category},
        headers=staff,
    )
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"name", "price"}
    assert all(isinstance(messages, list) for messages in error["fields"].values())


def test_an_unexpected_failure_is_a_json_500(app, assert_error, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(app.extensions["catalog"].store.products, "search", boom)
    response = app.test_client().get("/api/catalog/products")
    error = assert_error(response, 500, "internal_error")
    assert "fire" not in error["message"]


def test_health_checks_the_database_and_the_broker(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "service": "catalog",
        "checks": {"database": {"status": "ok"}, "broker": {"status": "ok"}},
    }


def test_health_is_503_when_the_broker_is_down(settings, store):
    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    response = create_app(broken, store=store).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"] == {"status": "ok"}


def get_with_the_database_down(settings, path: str):
    """GET ``path`` from a catalog whose MongoDB cannot be reached (nothing listens there)."""
    broken = settings.model_copy(
        update={"mongo_url": f"mongodb://127.0.0.1:{closed_port()}", "mongo_timeout_ms": 300}
    )
    store = Store.connect(broken)
    try:
        return create_app(broken, store=store).test_client().get(path)
    finally:
        store.close()


def test_health_is_503_when_the_database_is_down(settings):
    response = get_with_the_database_down(settings, "/health")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "error"


def test_database_down_is_a_503_with_retry_after(settings, assert_error):
    """MongoDB unreachable: the request did nothing and can be retried; not a 500."""
    response = get_with_the_database_down(settings, "/api/catalog/products")
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "2"


def test_the_openapi_document_is_served(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/catalog/products"])
    assert {"get", "patch", "delete"} <= set(paths["/api/catalog/products/{product_id}"])
    assert "post" in paths["/api/catalog/products/{product_id}/stock"]
    assert "post" in paths["/api/catalog/quotes"]
    assert "/openapi.json" not in paths
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error_schema = paths["/api/catalog/products"]["post"]["responses"]["422"]
    assert error_schema["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")


def test_the_openapi_document_lists_the_errors_each_operation_answers(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    def errors(path: str, method: str) -> set[str]:
        responses = paths[path][method]["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
        return {status for status in responses if status.startswith(("4", "5"))}

    staff_json_body = {"400", "401", "403", "413", "415", "422", "503"}
    assert errors("/api/catalog/products", "post") == staff_json_body | {"409"}
    assert errors("/api/catalog/products/{product_id}", "patch") == staff_json_body | {
        "404",
        "409",
    }
    assert errors("/api/catalog/products/{product_id}/stock", "post") == staff_json_body | {"404"}
    assert errors("/api/catalog/categories", "post") == staff_json_body | {"409"}
    assert errors("/api/catalog/products/{product_id}", "delete") == {
        "401",
        "403",
        "404",
        "409",
        "422",
        "503",
    }
    assert "204" in paths["/api/catalog/products/{product_id}"]["delete"]["responses"]
    assert errors("/api/catalog/quotes", "post") == {"400", "401", "413", "415", "422", "503"}
    # include_inactive=true is for staff
    assert errors("/api/catalog/products", "get") == {"401", "403", "422", "503"}
    assert errors("/api/catalog/products/{product_id}", "get") == {"404", "422"}
    # nothing to validate, so no 422 (flask-openapi3 would list one everywhere)
    assert errors("/api/catalog/categories", "get") == set()
    assert "422" not in paths["/health"]["get"]["responses"]
