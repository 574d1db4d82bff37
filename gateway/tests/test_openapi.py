"""One merged OpenAPI document, and Swagger UI served offline."""

from __future__ import annotations

import time

import pytest

from gateway.openapi import merge
from gateway.routing import Route, RouteTable, Upstream


def test_merged_document_has_the_paths_the_gateway_exposes(gateway, echo):
    reply = gateway.request("GET", "/api/openapi.json")
    assert reply.status == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert set(paths["/api/things"]) == {"get", "post"}
    assert set(paths["/api/readonly/{id}"]) == {"get"}  # the route allows GET only
    assert "/health" not in paths  # not routed through the gateway
    assert "/internal/stats" not in paths
    assert "Thing" in document["components"]["schemas"]
    assert document["x-sources"]["echo"] == {"status": "fresh"}
    assert document["x-sources"]["dead"] == {"status": "missing"}
    assert "raw" not in document["x-sources"]  # openapi = "" in its [upstreams.raw]


def test_a_service_that_went_down_keeps_its_last_document(start_gateway, test_gateway_env, echo):
    gateway = start_gateway({**test_gateway_env, "OPENAPI_CACHE_SECONDS": "0.2"})
    assert "/api/things" in gateway.request("GET", "/api/openapi.json").json()["paths"]
    echo.openapi_status = 503
    time.sleep(0.3)
    document = gateway.request("GET", "/api/openapi.json").json()
    assert "/api/things" in document["paths"]
    assert document["x-sources"]["echo"] == {"status": "stale"}


def test_swagger_ui_is_served_by_the_gateway(gateway):
    page = gateway.request("GET", "/api/docs")
    assert page.status == 200
    assert page.header("content-type").startswith("text/html")
    html = page.body.decode()
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "http" not in html.replace("http-equiv", "")  # nothing from another host
    init = gateway.request("GET", "/api/docs/init.js")
    assert b'"/api/openapi.json"' in init.body
    bundle = gateway.request("GET", "/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert len(bundle.body) > 100_000
    assert gateway.request("GET", "/api/docs/assets/nope.js").status == 404


def _table(**upstreams: str) -> RouteTable:
    routes = []
    for name, prefix in upstreams.items():
        upstream = Upstream(name, f"http://{name}:80")
        routes.append(Route(prefix, upstream, frozenset({"GET", "POST"}), 5))
    return RouteTable(routes)


def test_components_with_the_same_name_and_different_meaning_are_renamed():
    def doc(title: str, error: dict) -> dict:
        ref = {"$ref": "#/components/schemas/Error"}
        return {
            "openapi": "3.0.3",
            "info": {"title": title},
            "paths": {
                f"/api/{title}/x": {
                    "get": {
                        "responses": {"400": {"content": {"application/json": {"schema": ref}}}}
                    }
                }
            },
            "components": {"schemas": {"Error": error, "Shared": {"type": "string"}}},
        }

    merged = merge(
        {
            "a": doc("a", {"type": "object"}),
            "b": doc("b", {"type": "string"}),
        },
        _table(a="/api/a", b="/api/b"),
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Error"] == {"type": "object"}
    assert schemas["b_Error"] == {"type": "string"}
    assert set(schemas) == {"Error", "b_Error", "Shared"}
    schema_of = merged["paths"]["/api/b/x"]["get"]["responses"]["400"]["content"]
    assert schema_of["application/json"]["schema"] == {"$ref": "#/components/schemas/b_Error"}
    first = merged["paths"]["/api/a/x"]["get"]["responses"]["400"]["content"]
    assert first["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize("server", ["/api/c", "http://c.internal/api/c"])
def test_server_path_prefixes_are_applied(server):
    document = {"openapi": "3.1.0", "servers": [{"url": server}], "paths": {"/x": {"get": {}}}}
    merged = merge({"c": document}, _table(c="/api/c"))
    assert list(merged["paths"]) == ["/api/c/x"]
    assert merged["openapi"] == "3.1.0"
