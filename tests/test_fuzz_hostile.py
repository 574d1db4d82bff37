"""Hostile cases Schemathesis does not generate, for every operation of the merged OpenAPI
document that takes a JSON body, through the gateway (``make fuzz`` runs this beside
test_fuzz_openapi.py): a body nested 1,000 levels deep is a 400 ``bad_request``, and a body
whose every string holds NUL and ESC is a ``validation_error``: never a 5xx. And the edge
itself: a 1 MB header and 1,000 headers are a 431 in the error shape."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import bearer, new_product, place_order, shopper, staff_token

DEEP = "[" * 1_000 + "]" * 1_000
HOSTILE = "bad\x00text\x1b[2J"
METHODS = ("post", "put", "patch", "delete")
# What these cases must not touch: the signed-in user (as in test_fuzz_openapi.py).
EXCLUDED = {("delete", "/api/users/me"), ("post", "/api/users/me/password")}
# mainapp is called as a throwaway customer (the fuzz edits its profile), the others as staff.
MAINAPP = ("/api/auth", "/api/users")


def json_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, body schema) of every operation taking ``application/json``."""
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            content = (operation or {}).get("requestBody", {}).get("content", {})
            if "application/json" in content and (method, path) not in EXCLUDED:
                found.append((method, path, content["application/json"].get("schema", {})))
    return found


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [resolve(s, document) for s in schema[key]]
            return next((s for s in options if s.get("type") != "null"), options[0])
    return schema


def hostile(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> Any:
    """A value of ``schema`` in which every string is :data:`HOSTILE`."""
    schema = resolve(schema, document)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: hostile(sub, document, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [hostile(schema.get("items", {}), document, depth + 1)]
    return {"integer": 1, "number": 1, "boolean": True}.get(kind, HOSTILE)


def has_string(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_string(v) for v in value.values())
    if isinstance(value, list):
        return any(has_string(v) for v in value)
    return value == HOSTILE


@pytest.fixture(scope="module")
def document(stack) -> dict[str, Any]:
    return httpx.get(f"{stack.url}/api/openapi.json", timeout=15).json()


@pytest.fixture(scope="module")
def ids(stack) -> dict[str, str]:
    """Real ids for path parameters, so each refusal is about the body, not the resource."""
    with stack.client() as client:
        staff = staff_token(client, stack)
        product = new_product(client, staff, stock=5)
        customer = shopper(client)[1]
        order = place_order(client, staff, [(product["id"], 1)])
        assert order.status_code == 202, order.text
    return {
        "product_id": product["id"],
        "order_id": order.json()["id"],
        "slug": product["slug"],
        "staff": staff,
        "customer": customer,
    }


def call(stack, ids, method: str, path: str, content: bytes) -> httpx.Response:
    role = "customer" if path.startswith(MAINAPP) else "staff"
    url = path.format(**ids)
    headers = {**bearer(ids[role]), "Content-Type": "application/json"}
    with stack.client() as client:
        return client.request(method.upper(), url, content=content, headers=headers)


def test_every_json_operation_refuses_deep_and_control_character_bodies(stack, document, ids):
    found = json_operations(document)
    assert len(found) >= 10, [f"{m} {p}" for m, p, _ in found]
    failures = []
    for method, path, schema in found:
        deep = call(stack, ids, method, path, ('{"x": ' + DEEP + "}").encode())
        body = hostile(schema, document)
        if not has_string(body):
            body = {**body, "note": HOSTILE} if isinstance(body, dict) else {"note": HOSTILE}
        nul = call(stack, ids, method, path, json.dumps(body).encode())
        for case, response, statuses, code in (
            ("deep", deep, {400}, "bad_request"),
            ("NUL", nul, {400, 422}, "validation_error"),
        ):
            error = response.json().get("error", {}) if _is_json(response) else {}
            if response.status_code not in statuses or error.get("code") != code:
                failures.append(
                    f"{case}: {method.upper()} {path} -> {response.status_code} {response.text}"
                )
    assert not failures, "\n".join(failures)


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


# --------------------------------------------------------------------------- oversized headers


def raw_request(
    url: str, headers: list[tuple[str, str]], path: str = "/api/catalog/products"
) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` with ``headers``, over a plain socket (httpx would refuse to send what a
    hostile client sends); the status, headers and body of the answer."""
    parts = urlsplit(url)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        # the server may answer and close before reading it all
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Big", "a" * 1024 * 1024)], id="one-1MB-header"),
        pytest.param([(f"X-H{i}", "v") for i in range(1_000)], id="1000-headers"),
    ],
)
def test_oversized_headers_are_a_json_4xx_at_the_gateway(stack, headers):
    status, answer_headers, body = raw_request(stack.url, headers)
    assert status == 431, (status, body[:200])
    assert answer_headers.get("content-type", "").startswith("application/json"), answer_headers
    assert json.loads(body)["error"]["code"]


@pytest.mark.parametrize("service", ["mainapp", "catalog", "orders"])
def test_a_service_refuses_an_oversized_head_sent_straight_to_it(stack, service):
    """Services do not count on the gateway's caps: each bounds a request head itself."""
    url = f"http://127.0.0.1:{stack.env[f'{service.upper()}_PORT']}"
    status, _, body = raw_request(url, [("X-Small", "a" * 1024)], path="/health")
    assert status == 200, (status, body[:200])
    status, answer_headers, body = raw_request(url, [("X-Big", "a" * 3 * 1024 * 1024)], "/health")
    assert status == 431, (status, body[:200])
    assert answer_headers.get("content-type", "").startswith("application/json"), answer_headers
    assert json.loads(body)["error"]["code"] == "request_header_fields_too_large"


def test_a_header_line_the_gateway_accepts_reaches_the_catalog_behind_it(stack):
    """The gateway takes header lines up to 16 KiB; gunicorn's default (8190 bytes) would have
    refused them behind it, so the catalog's limit is raised to the services' 32 KiB."""
    status, _, body = raw_request(stack.url, [("X-Trace-Note", "a" * 12 * 1024)])
    assert status == 200, (status, body[:200])
    assert json.loads(body)["items"]


@pytest.mark.parametrize("service", ["mainapp", "catalog", "orders"])
def test_a_malformed_request_straight_at_a_service_is_a_json_400(stack, service):
    port = int(stack.env[f"{service.upper()}_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"application/json" in head.lower(), head
    assert json.loads(body)["error"]["code"] == "bad_request"
