"""The catalog client: timeouts and connection failures are one clear error, the circuit
opens after repeated failures, answers are parsed into quotes.

Over real sockets: the real catalog where it can show the behaviour, else a real HTTP server in
a thread (``serve``) that answers what a broken catalog would (5xx, slowly, HTML)."""

from __future__ import annotations

import json
import socket
import threading
import time
from decimal import Decimal

import httpx
import pytest

from devstack.servers import free_port
from msh_common.breaker import CLOSED, OPEN
from msh_common.breaker import ThreadSafeCircuitBreaker as CircuitBreaker
from orders.catalog import CatalogClient, CatalogUnavailable
from orders.catalog.client import QuoteRefused
from orders.domain.pricing import LineRequest

LINES = [LineRequest("p1", 2), LineRequest("p2", 1)]


def test_a_catalog_that_is_not_listening_is_unavailable_and_opens_the_circuit():
    breaker = CircuitBreaker("catalog", threshold=2, open_seconds=30)
    client = CatalogClient(f"http://127.0.0.1:{free_port()}", timeout=1, retries=1, breaker=breaker)
    for _ in range(2):
        with pytest.raises(CatalogUnavailable, match="did not answer"):
            client.quote(LINES, "token")
    with pytest.raises(CatalogUnavailable, match="try again shortly") as open_circuit:
        client.quote(LINES, "token")
    assert open_circuit.value.retry_after == pytest.approx(30, abs=1)
    client.close()


def json_answer(status: int, body: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def quoted_line(product_id: str, quantity: int, **fields: object) -> dict:
    """A line as the real catalog sends it (its ``QuotedLine`` schema)."""
    return {
        "product_id": product_id,
        "quantity": quantity,
        "name": "Mug",
        "sku": f"SKU-{product_id}",
        "unit_price": "19.99",
        "line_total": str(Decimal("19.99") * quantity),
        "currency": "EUR",
        "active": True,
        "available": True,
        "stock_available": 3,
        **fields,
    }


def test_quotes_are_parsed_and_the_users_token_is_forwarded(serve):
    seen = []

    def answer(request):
        seen.append(request)
        return json_answer(
            200, {"lines": [quoted_line("p1", 2), quoted_line("p2", 1, active=False)]}
        )

    client = CatalogClient(serve(answer))
    quotes = client.quote(LINES, "tok")
    client.close()
    [request] = seen
    assert (request.method, request.path) == ("POST", "/api/catalog/quotes")
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.body) == {
        "lines": [{"product_id": "p1", "quantity": 2}, {"product_id": "p2", "quantity": 1}]
    }
    assert quotes["p1"].unit_price == Decimal("19.99") and quotes["p1"].currency == "EUR"
    assert quotes["p1"].available == 3 and quotes["p1"].active
    assert quotes["p2"].found and not quotes["p2"].active


@pytest.mark.parametrize(
    "lines",
    [
        [quoted_line("p1", 2)],  # a line left out
        [quoted_line("p1", 2, currency="eur"), quoted_line("p2", 1)],
        [quoted_line("p1", 2, stock_available=True), quoted_line("p2", 1)],
        [quoted_line("p1", 2, unit_price="free"), quoted_line("p2", 1)],
    ],
)
def test_an_answer_not_in_the_catalogs_shape_is_unreadable(serve, lines):
    client = CatalogClient(serve(lambda request: json_answer(200, {"lines": lines})))
    with pytest.raises(CatalogUnavailable, match="unreadable"):
        client.quote(LINES, "tok")
    client.close()


def test_the_real_catalogs_quotes_are_parsed(catalog, user):
    """The answer of the real catalog, not one written here: the two cannot drift apart."""
    mug = catalog.add(name="Red mug", price="19.99", stock=3)
    off = catalog.add(name="Old mug", price="4.00", currency="USD", active=False, stock=0)
    client = CatalogClient(catalog.url)
    quotes = client.quote([LineRequest(mug, 2), LineRequest(off, 1)], user.token)
    client.close()
    assert quotes[mug].found and quotes[mug].name == "Red mug" and quotes[mug].active
    assert quotes[mug].unit_price == Decimal("19.99") and quotes[mug].currency == "EUR"
    assert quotes[mug].available == 3
    assert quotes[off].found and not quotes[off].active
    assert quotes[off].currency == "USD" and quotes[off].available == 0


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_unavailable(serve, status):
    breaker = CircuitBreaker("catalog", threshold=1)
    client = CatalogClient(serve(lambda request: (status, {}, b"")), breaker=breaker)
    with pytest.raises(CatalogUnavailable, match=f"answered {status}"):
        client.quote(LINES, "tok")
    assert breaker.state == OPEN
    client.close()


def test_a_timeout_is_unavailable(serve):
    def slow(request):
        time.sleep(1)
        return json_answer(200, {"lines": []})

    client = CatalogClient(serve(slow), timeout=0.2)
    with pytest.raises(CatalogUnavailable, match="did not answer"):
        client.quote(LINES, "tok")
    client.close()


def test_a_refusal_is_passed_on_and_keeps_the_circuit_closed(serve):
    breaker = CircuitBreaker("catalog", threshold=1)
    body = {"error": {"code": "validation_error", "message": "bad id", "fields": {"x": ["y"]}}}
    client = CatalogClient(serve(lambda request: json_answer(400, body)), breaker=breaker)
    with pytest.raises(QuoteRefused) as refused:
        client.quote(LINES, "tok")
    assert refused.value.status_code == 400 and refused.value.error["message"] == "bad id"
    assert breaker.state == CLOSED
    client.close()


def test_an_unreadable_answer_is_unavailable(serve):
    html = serve(lambda request: (200, {"Content-Type": "text/html"}, b"<html>"))
    client = CatalogClient(html)
    with pytest.raises(CatalogUnavailable, match="unreadable"):
        client.quote(LINES, "tok")
    client.close()


def test_products_the_catalog_does_not_have_are_unknown_and_the_rest_still_priced(
    serve, catalog, user
):
    """The catalog answers 422 naming unknown products by line; the others are asked again.
    The real catalog answers, through a real proxy that notes what was asked."""
    mug = catalog.add(name="Mug", price="1.00", stock=7)
    towel = catalog.add(name="Towel", price="1.00", stock=7)
    asked: list[list[str]] = []

    with httpx.Client(base_url=catalog.url, timeout=10) as upstream:

        def relay(request):
            asked.append([line["product_id"] for line in json.loads(request.body)["lines"]])
            response = upstream.post(
                request.path,
                content=request.body,
                headers={
                    "Authorization": request.headers["Authorization"],
                    "Content-Type": "application/json",
                },
            )
            content_type = {"Content-Type": response.headers["content-type"]}
            return response.status_code, content_type, response.content

        client = CatalogClient(serve(relay))
        quotes = client.quote(
            [LineRequest(mug, 1), LineRequest("gone", 1), LineRequest(towel, 1)], user.token
        )
        assert asked == [[mug, "gone", towel], [mug, towel]]
        assert quotes["gone"].found is False
        assert quotes[mug].found and quotes[mug].available == 7
        assert quotes[towel].found and quotes[towel].unit_price == Decimal("1.00")
        only_unknown = client.quote([LineRequest("gone", 1)], user.token)
        assert only_unknown["gone"].found is False
        assert asked[2:] == [["gone"]]
        client.close()


def test_a_kept_alive_connection_closed_under_a_quote_is_asked_again_on_a_new_one():
    """The catalog's server ends an idle kept-alive connection just as the next quote goes out
    on it: the quote reached no one or was answered by no one, and is sent once more."""
    answer = json.dumps({"lines": [quoted_line("p1", 2), quoted_line("p2", 1)]}).encode()
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
        + answer
    )
    requests: list[int] = []  # per request received: the number of its connection
    listener = socket.create_server(("127.0.0.1", 0))

    def read_request(connection: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        while len(body) < length:
            body += connection.recv(65536)
        return True

    def serve() -> None:
        for number in range(2):
            connection, _ = listener.accept()
            with connection:
                while read_request(connection):
                    requests.append(number)
                    if number == 0 and len(requests) == 2:
                        break  # the second request on the first connection: closed unanswered
                    connection.sendall(response)

    threading.Thread(target=serve, daemon=True).start()
    client = CatalogClient(f"http://127.0.0.1:{listener.getsockname()[1]}")
    assert client.quote(LINES, "tok")["p1"].found  # the first connection, kept alive
    assert client.quote(LINES, "tok")["p2"].found  # closed under it, asked again
    assert requests == [0, 0, 1]
    client.close()
    listener.close()
