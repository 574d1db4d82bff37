"""One merged OpenAPI document, and Swagger UI served offline."""

from __future__ import annotations

import time

import pytest

from gateway.openapi import merge
from gateway.routing import Route, RouteTable, Upstream
from msh_common.errors import ERROR_DETAIL, ERROR_RESPONSE, ERROR_SCHEMA_REF, use_error_schemas


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
        upstream = Upstream(name, (f"http://{name}:80",))
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
    assert schemas["Error"] == {"type": "object", "title": "Error"}
    assert schemas["b_Error"] == {"type": "string", "title": "b_Error"}
    assert set(schemas) == {"Error", "b_Error", "Shared", ERROR_RESPONSE, ERROR_DETAIL}
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


def test_a_component_that_refers_to_a_renamed_one_is_renamed_too():
    def doc(title: str, detail: dict) -> dict:
        response = {"$ref": "#/components/schemas/ErrorResponse"}
        return {
            "openapi": "3.0.3",
            "paths": {
                f"/api/{title}/x": {
                    "get": {
                        "responses": {
                            "400": {"content": {"application/json": {"schema": response}}}
                        }
                    }
                }
            },
            "components": {
                "schemas": {
                    # Word for word the same in both, yet not the same: ErrorDetail differs.
                    "ErrorResponse": {
                        "type": "object",
                        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
                    },
                    "ErrorDetail": detail,
                }
            },
        }

    merged = merge(
        {"a": doc("a", {"type": "object"}), "b": doc("b", {"type": "string"})},
        _table(a="/api/a", b="/api/b"),
    )
    schemas = merged["components"]["schemas"]
    assert schemas["ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    assert schemas["b_ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/b_ErrorDetail"
    }
    assert schemas["b_ErrorDetail"] == {"type": "string", "title": "b_ErrorDetail"}
    b_400 = merged["paths"]["/api/b/x"]["get"]["responses"]["400"]
    assert b_400["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/b_ErrorResponse"
    }


def _edge_table() -> RouteTable:
    upstream = Upstream("svc", ("http://svc:80",))
    methods = frozenset({"GET", "HEAD", "POST", "DELETE"})
    return RouteTable(
        [
            Route("/api/public", upstream, methods, 5, max_body_bytes=1000),
            Route("/api/shop", upstream, methods, 5, auth="none", write_auth="staff"),
            Route("/api/private", upstream, methods, 5, auth="jwt", rate_limit="none"),
            Route("/api/reports", upstream, methods, 5, auth="staff"),
        ]
    )


def _operation(responses: dict | None = None, *, body: bool = False) -> dict:
    operation: dict = {"responses": responses or {"200": {"description": "OK"}}}
    if body:
        operation["requestBody"] = {"content": {"application/json": {"schema": {}}}}
    return operation


def _edge_document() -> dict:
    service_401 = {
        "description": "Not signed in.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    return {
        "openapi": "3.0.3",
        "paths": {
            "/api/public/things": {"get": _operation(), "post": _operation(body=True)},
            "/api/shop/items": {"get": _operation(), "delete": _operation()},
            "/api/private/me": {"get": _operation({"200": {}, "401": service_401})},
            "/api/reports/sales": {"get": _operation()},
        },
        "components": {"schemas": {"Problem": {"type": "object"}}},
    }


def test_the_gateways_own_answers_are_documented_on_each_operation_as_the_route_allows():
    merged = merge({"svc": _edge_document()}, _edge_table())
    paths = merged["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    always = {"400", "414", "502", "503", "504"}
    # public, rate-limited; 413 only where a body is accepted
    assert statuses("/api/public/things", "get") == {"200", "429", *always}
    assert statuses("/api/public/things", "post") == {"200", "413", "429", *always}
    # public reads, staff writes
    assert statuses("/api/shop/items", "get") == {"200", "429", *always}
    assert statuses("/api/shop/items", "delete") == {"200", "401", "403", "429", *always}
    # a valid token, not rate-limited
    assert statuses("/api/private/me", "get") == {"200", "401", *always}
    assert statuses("/api/reports/sales", "get") == {"200", "401", "403", "429", *always}

    too_large = paths["/api/public/things"]["post"]["responses"]["413"]
    assert "1000 bytes" in too_large["description"]
    assert too_large["content"]["application/json"]["schema"] == {"$ref": ERROR_SCHEMA_REF}
    schemas = merged["components"]["schemas"]
    assert schemas[ERROR_RESPONSE]["required"] == ["error"]
    assert schemas[ERROR_DETAIL]["required"] == ["code", "message"]
    fields = schemas[ERROR_DETAIL]["properties"]["fields"]["additionalProperties"]
    assert fields == {"type": "array", "items": {"type": "string"}}
    assert "auth_unavailable" in paths["/api/private/me"]["get"]["responses"]["503"]["description"]
    assert (
        "auth_unavailable"
        not in (paths["/api/public/things"]["get"]["responses"]["503"]["description"])
    )


def test_a_status_the_service_documents_keeps_its_entry_with_the_gateways_reason_added():
    document = _edge_document()
    merged = merge({"svc": document}, _edge_table())
    unauthorized = merged["paths"]["/api/private/me"]["get"]["responses"]["401"]
    assert unauthorized["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert unauthorized["description"].startswith("Not signed in. At the gateway: ")
    # the service's document (cached by the gateway, merged again later) is left as it was
    assert document == _edge_document()
    again = merge({"svc": document}, _edge_table())
    assert again["paths"]["/api/private/me"]["get"]["responses"]["401"] == unauthorized


def test_a_service_component_named_like_the_gateways_error_is_renamed():
    document = _edge_document()
    document["components"]["schemas"][ERROR_RESPONSE] = {"type": "string"}
    merged = merge({"svc": document}, _edge_table())
    schemas = merged["components"]["schemas"]
    assert schemas[ERROR_RESPONSE]["type"] == "object"
    assert schemas[f"svc_{ERROR_RESPONSE}"] == {"type": "string", "title": f"svc_{ERROR_RESPONSE}"}


def test_services_publishing_the_shared_error_shape_merge_into_one_error_type():
    """A service that renders its own ``Problem`` and calls use_error_schemas: one ErrorResponse
    in the merged document, the service's responses pointing at it."""
    document = _edge_document()
    use_error_schemas(document, replacing={"Problem": ERROR_RESPONSE})
    merged = merge({"svc": document}, _edge_table())
    schemas = merged["components"]["schemas"]
    assert {name for name in schemas if "rror" in name or "Problem" in name} == {
        ERROR_RESPONSE,
        ERROR_DETAIL,
    }
    unauthorized = merged["paths"]["/api/private/me"]["get"]["responses"]["401"]
    assert unauthorized["content"]["application/json"]["schema"] == {"$ref": ERROR_SCHEMA_REF}


def test_one_bearer_scheme_anonymous_operations_and_titles_equal_to_names():
    def doc(service: str, scheme: str, schema: dict) -> dict:
        ref = {"$ref": "#/components/schemas/ProductOut"}
        ok = {"200": {"content": {"application/json": {"schema": ref}}}}
        return {
            "openapi": "3.0.3",
            "paths": {
                f"/api/{service}/mine": {"get": {"security": [{scheme: []}], "responses": ok}},
                f"/api/{service}/open": {"get": {"security": [{}], "responses": ok}},
                f"/api/{service}/either": {"get": {"security": [{}, {scheme: []}]}},
            },
            "components": {
                "schemas": {"ProductOut": {**schema, "title": "ProductOut"}},
                "securitySchemes": {scheme: {"type": "http", "scheme": "Bearer"}},
            },
        }

    merged = merge(
        {
            "a": doc("a", "jwtAuth", {"type": "object"}),
            "b": doc("b", "HTTPBearer", {"type": "array"}),
        },
        _table(a="/api/a", b="/api/b"),
    )
    assert list(merged["components"]["securitySchemes"]) == ["bearerAuth"]
    paths = merged["paths"]
    for service in ("a", "b"):
        assert paths[f"/api/{service}/mine"]["get"]["security"] == [{"bearerAuth": []}]
        assert paths[f"/api/{service}/open"]["get"]["security"] == []
        assert paths[f"/api/{service}/either"]["get"]["security"] == [{}, {"bearerAuth": []}]
    schemas = merged["components"]["schemas"]
    assert schemas["ProductOut"]["title"] == "ProductOut"
    assert schemas["b_ProductOut"]["title"] == "b_ProductOut"
    titles = [schema["title"] for schema in schemas.values()]
    assert len(titles) == len(set(titles))


def test_a_document_wide_requirement_is_kept_on_each_operation_and_silence_is_anonymous():
    document = {
        "openapi": "3.0.3",
        "security": [{"HTTPBearer": []}],
        "paths": {"/api/c/x": {"get": {}, "post": {"security": [{}]}}},
        "components": {"securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}}},
    }
    silent = {"openapi": "3.0.3", "paths": {"/api/d/y": {"get": {}}}}
    merged = merge({"c": document, "d": silent}, _table(c="/api/c", d="/api/d"))
    assert merged["paths"]["/api/c/x"]["get"]["security"] == [{"bearerAuth": []}]
    assert merged["paths"]["/api/c/x"]["post"]["security"] == []
    assert merged["paths"]["/api/d/y"]["get"]["security"] == []
    assert "security" not in merged
