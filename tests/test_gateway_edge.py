"""The gateway's edge, through the running platform: tokens refused before mainapp sees them,
metrics, health, the merged API reference and security headers."""

from __future__ import annotations

import json
import re
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import bearer, login, register

from devstack.openapi import DEFAULT_PATH, merged_openapi
from devstack.stub_http import access_token
from msh_common.errors import ERROR_DETAIL, ERROR_RESPONSE, ERROR_SCHEMA_REF, ERROR_SCHEMAS

EDGE_REALM = 'Bearer realm="microservicehub"'  # every verifier's (msh_auth.bearer.REALM)


@pytest.fixture(scope="module")
def real_key(stack):
    path = sorted(stack.keys_dir.glob("*.pem"))[-1]
    return path.read_bytes(), path.stem


def _token(key, kid: str, **overrides) -> str:
    return access_token(key, kid, **{"sub": "1", **overrides})


def _edge_refusals(client) -> float:
    text = client.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_auth_refusals_total{")
    )


def _refused_at_the_edge(response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code
    assert response.headers["www-authenticate"].startswith(EDGE_REALM)


def test_expired_and_forged_tokens_are_refused_at_the_edge(client, real_key):
    pem, kid = real_key
    past = int(time.time()) - 3600
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    before = _edge_refusals(client)
    for token in (
        _token(pem, kid, iat=past, exp=past + 300),  # expired
        _token(other, kid),  # signed with another key under the real kid
        _token(pem, kid, aud="someone-else"),
    ):
        response = client.get("/api/users/me", headers=bearer(token))
        _refused_at_the_edge(response, "invalid_token")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert _edge_refusals(client) >= before + 3


def test_missing_token_is_refused_at_the_edge(client):
    _refused_at_the_edge(client.get("/api/users/me"), "not_authenticated")


def test_real_tokens_pass_the_edge(client):
    user = register(client)
    access = login(client, user["email"])["access"]
    response = client.get("/api/users/me", headers=bearer(access))
    assert response.status_code == 200
    assert response.json()["email"] == user["email"]


def test_token_in_the_query_string_is_refused(client):
    user = register(client)
    access = login(client, user["email"])["access"]
    response = client.get(f"/api/users/me?access_token={access}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "token_in_query"


def test_oversized_body_is_refused_before_it_is_read(client):
    response = client.post(
        "/api/auth/register",
        content=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["connection"] == "close"


def test_liveness_and_per_upstream_health(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    health = client.get("/health").json()
    assert health["status"] == "ok"
    mainapp = health["upstreams"]["mainapp"]
    assert mainapp["status"] == "ok" and mainapp["breaker"] == "closed"
    assert mainapp["latency_ms"] >= 0


def test_metrics_expose_the_counters(client):
    client.get("/api/auth/jwks")
    text = client.get("/metrics").text
    assert re.search(
        r'gateway_requests_total\{method="GET",route="/api/auth",status="200"\} [1-9]', text
    )
    assert 'gateway_upstream_latency_seconds_count{upstream="mainapp"}' in text
    assert 'gateway_circuit_breaker_state{upstream="mainapp"}' in text
    assert "gateway_rate_limit_rejections_total" in text
    assert "gateway_rate_limit_redis_up 1.0" in text


def test_merged_openapi_has_every_services_public_paths(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    for path in ("/api/auth/login", "/api/auth/register", "/api/users/me", "/api/auth/jwks"):
        assert path in paths, path
    assert "/api/schema" not in paths and "/health" not in paths  # not exposed
    assert set(paths["/api/auth/login"]) >= {"post"}
    # Every service with a document in the route table contributed it, under its own prefix.
    sources = document["x-sources"]
    assert sources.get("mainapp") == {"status": "fresh"}
    assert all(source["status"] == "fresh" for source in sources.values()), sources
    for service, prefix in (("catalog", "/api/catalog/"), ("orders", "/api/orders")):
        if service in sources:
            assert any(path.startswith(prefix) for path in paths), service
    assert client.get("/api/docs").status_code == 200


def test_every_error_in_the_merged_openapi_is_the_one_shared_error_type(client):
    """Four servers, one error shape: a generated client gets one error type, and every
    documented 4xx/5xx (the gateway's own and each service's) refers to it."""
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {name for name in schemas if "rror" in name} == {ERROR_RESPONSE, ERROR_DETAIL}
    assert schemas[ERROR_DETAIL] == ERROR_SCHEMAS[ERROR_DETAIL]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_SCHEMA_REF}, (method, path, status)


def test_the_merged_document_keeps_its_promises_to_generated_clients(client):
    """One bearer scheme; every operation says what it needs (``[]``: nothing); schema titles
    are their names, so no two share one (gateway/gateway/openapi_contract.py)."""
    document = client.get("/api/openapi.json").json()
    assert list(document["components"]["securitySchemes"]) == ["bearerAuth"]
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert all("security" in operation for operation in operations.values())
    for anonymous in (("post", "/api/auth/login"), ("post", "/api/auth/register")):
        assert operations[anonymous]["security"] == []
    assert operations[("get", "/api/users/me")]["security"] == [{"bearerAuth": []}]
    assert operations[("get", "/api/catalog/products")]["security"] == [{}, {"bearerAuth": []}]
    schemas = document["components"]["schemas"]
    assert all(schema["title"] == name for name, schema in schemas.items())
    # operationIds: unique, snake_case, verb first; every tag declared, with a description.
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(ids) == len(set(ids)), ids
    verb = re.compile(
        r"^(list|get|create|update|delete|deactivate|receive|register|log|refresh|request|"
        r"confirm|change|set|empty|place|cancel|stream|upload)(_[a-z0-9]+)*$"
    )
    assert [i for i in ids if not verb.match(i)] == []
    assert {"list_products", "place_order", "log_in", "get_sales_report"} <= set(ids)
    declared = {tag["name"]: tag.get("description") for tag in document["tags"]}
    used = {tag for operation in operations.values() for tag in operation.get("tags", [])}
    assert used <= set(declared) and all(declared[tag] for tag in used)


def test_the_frontends_committed_openapi_document_is_the_live_one(client):
    """The SPA's API types (frontend/src/api/schema.d.ts) are generated from
    frontend/openapi.json; an API change must regenerate both (see frontend/README.md)."""
    live = merged_openapi(client.get("/api/openapi.json").json())
    committed = json.loads(DEFAULT_PATH.read_text())
    assert committed == live, "regenerate frontend/openapi.json and src/api/schema.d.ts"


def test_security_headers_and_the_admins_own(client):
    api = client.get("/api/auth/jwks")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "frame-ancestors 'none'"
    admin = client.get("/admin/login/")
    assert admin.status_code == 200
    # Django's own policy is kept, not replaced by the gateway's default.
    assert admin.headers["referrer-policy"] == "same-origin"
    assert admin.headers.get_list("x-frame-options") == ["DENY"]
