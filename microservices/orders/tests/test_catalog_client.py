"""The catalog client: timeouts and connection failures are one clear error, the circuit
opens after repeated failures, answers are parsed into quotes."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from devstack.servers import free_port
from orders.catalog import CatalogClient, CatalogUnavailable, CircuitBreaker
from orders.catalog.client import QuoteRefused
from orders.domain.pricing import LineRequest

LINES = [LineRequest("p1", 2), LineRequest("p2", 1)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_for_one_trial():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_after() == 10
    clock.now = 10
    assert breaker.state == "half-open"
    assert breaker.allow()  # one trial...
    assert not breaker.allow()  # ...at a time
    breaker.record_failure()  # the trial failed: open again, for a full period
    assert not breaker.allow() and breaker.retry_after() == 10
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_a_catalog_that_is_not_listening_is_unavailable_and_opens_the_circuit():
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30)
    client = CatalogClient(f"http://127.0.0.1:{free_port()}", timeout=1, retries=1, breaker=breaker)
    for _ in range(2):
        with pytest.raises(CatalogUnavailable, match="did not answer"):
            client.quote(LINES, "token")
    with pytest.raises(CatalogUnavailable, match="try again shortly") as open_circuit:
        client.quote(LINES, "token")
    assert open_circuit.value.retry_after == pytest.approx(30, abs=1)
    client.close()


def mock_client(handler, **kwargs) -> CatalogClient:
    return CatalogClient("http://catalog", transport=httpx.MockTransport(handler), **kwargs)


def test_quotes_are_parsed_and_the_users_token_is_forwarded():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["authorization"]
        seen["body"] = request.read()
        return httpx.Response(
            200,
            json={
                "lines": [
                    {
                        "product_id": "p1",
                        "name": "Mug",
                        "unit_price": "19.99",
                        "currency": "eur",
                        "active": True,
                        "available": 3,
                    },
                ]
            },
        )

    quotes = mock_client(handler).quote(LINES, "tok")
    assert seen["auth"] == "Bearer tok"
    assert b'"product_id":"p1"' in seen["body"].replace(b" ", b"")
    assert quotes["p1"].unit_price == Decimal("19.99") and quotes["p1"].currency == "EUR"
    assert quotes["p1"].available == 3 and quotes["p1"].active
    assert quotes["p2"].found is False  # not quoted: unknown


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_unavailable(status):
    breaker = CircuitBreaker(failure_threshold=1)
    client = mock_client(lambda request: httpx.Response(status), breaker=breaker)
    with pytest.raises(CatalogUnavailable):
        client.quote(LINES, "tok")
    assert breaker.state == "open"


def test_a_timeout_is_unavailable():
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(CatalogUnavailable):
        mock_client(slow).quote(LINES, "tok")


def test_a_refusal_is_passed_on_and_keeps_the_circuit_closed():
    breaker = CircuitBreaker(failure_threshold=1)
    body = {"error": {"code": "validation_error", "message": "bad id", "fields": {"x": ["y"]}}}
    client = mock_client(lambda request: httpx.Response(400, json=body), breaker=breaker)
    with pytest.raises(QuoteRefused) as refused:
        client.quote(LINES, "tok")
    assert refused.value.status_code == 400 and refused.value.error["message"] == "bad id"
    assert breaker.state == "closed"


def test_an_unreadable_answer_is_unavailable():
    with pytest.raises(CatalogUnavailable, match="unreadable"):
        mock_client(lambda request: httpx.Response(200, text="<html>")).quote(LINES, "tok")


def test_products_the_catalog_does_not_have_are_unknown_and_the_rest_still_priced():
    """The catalog answers 422 naming unknown products by line; the others are asked again."""
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        ids = [line["product_id"] for line in json.loads(request.read())["lines"]]
        asked.append(ids)
        if "gone" in ids:
            field = f"lines.{ids.index('gone')}.product_id"
            return httpx.Response(
                422,
                json={
                    "error": {
                        "code": "validation_error",
                        "message": "no such product",
                        "fields": {field: ["no such product"]},
                    }
                },
            )
        return httpx.Response(
            200,
            json={
                "lines": [
                    {
                        "product_id": pid,
                        "quantity": 1,
                        "name": pid,
                        "sku": pid.upper(),
                        "unit_price": "1.00",
                        "line_total": "1.00",
                        "currency": "EUR",
                        "active": True,
                        "available": True,
                        "stock_available": 7,
                    }
                    for pid in ids
                ]
            },
        )

    quotes = mock_client(handler).quote(
        [LineRequest("p1", 1), LineRequest("gone", 1), LineRequest("p2", 1)], "tok"
    )
    assert asked == [["p1", "gone", "p2"], ["p1", "p2"]]
    assert quotes["gone"].found is False
    assert quotes["p1"].found and quotes["p1"].available == 7
    only_unknown = mock_client(handler).quote([LineRequest("gone", 1)], "tok")
    assert only_unknown["gone"].found is False
