"""Property-based fuzzing (Schemathesis) of every service's OpenAPI, as the gateway merges them
at /api/openapi.json, through the gateway with valid tokens: no answer is a 5xx, and every
answer has a documented status code (each service documents its own errors, the gateway adds
its edge answers when merging: see gateway/gateway/openapi.py), content type and schema.
``make fuzz`` runs more examples (FUZZ_EXAMPLES)."""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from helpers import bearer, shopper, staff_token
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

# Operations that would take the ground from under the fuzzer or other tests: deleting the
# user whose token is in use, or changing its password.
EXCLUDED = [("DELETE", "/api/users/me"), ("POST", "/api/users/me/password")]


@pytest.fixture(scope="module")
def tokens(stack) -> dict[str, str]:
    """A staff token for catalog and orders (full coverage), a throwaway customer's for mainapp
    (the fuzzer edits the profile it is signed in with)."""
    with stack.client() as client:
        return {"staff": staff_token(client, stack), "customer": shopper(client)[1]}


@pytest.fixture(scope="module")
def gateway_schema(stack):
    document = httpx.get(f"{stack.url}/api/openapi.json", timeout=15).json()
    schema = schemathesis.openapi.from_dict(document)
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path=path)
    return schema


SERVICES = {
    "mainapp": ("/api/auth", "/api/users", "/.well-known"),
    "catalog": ("/api/catalog",),
    "orders": ("/api/cart", "/api/orders", "/api/reports"),
}
# The live-status stream stays open until the order settles: not a request/response operation.
STREAMS = ("/api/orders/{order_id}/events",)


@pytest.mark.parametrize("service", list(SERVICES))
def test_no_server_error_and_documented_answers(service, stack, tokens, gateway_schema):
    role = "customer" if service == "mainapp" else "staff"
    headers = bearer(tokens[role])
    fuzzed, failures = 0, []
    for result in gateway_schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(SERVICES[service]) or operation.path in STREAMS:
            continue
        fuzzed += 1

        # Valid requests and invalid ones (wrong types, missing fields, out-of-range values):
        # a service must answer both without a 5xx, with a documented answer.
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(
                base_url=stack.url,
                headers=headers,
                checks=CHECKS,
                timeout=15,
            )

        try:
            fuzz()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert fuzzed >= 3, f"no {service} operations in the merged OpenAPI"
    assert not failures, "\n\n".join(failures)
