"""Every service answers GET /metrics on its own port (the internal network; the gateway never
routes it), with request counts by route template and its outbox and dead-letter gauges."""

from __future__ import annotations

import httpx
from helpers import bearer, eventually, login, new_email, register


def scrape(url: str) -> str:
    # a new connection each time: natively each web worker process answers for itself (compose sets
    # PROMETHEUS_MULTIPROC_DIR so that one scrape sums them), so polling reaches every worker
    response = httpx.get(f"{url}/metrics", timeout=10, headers={"Connection": "close"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_every_service_exposes_request_and_event_metrics(stack, client) -> None:
    register(client, new_email())
    assert client.get("/api/catalog/products").status_code == 200

    def mainapp_counted() -> bool:
        text = scrape(stack.env["MAINAPP_URL"])
        return 'method="POST",route="/api/auth/register",service="mainapp",status="201"' in text

    def catalog_counted() -> bool:
        text = scrape(stack.env["CATALOG_URL"])
        return 'method="GET",route="/api/catalog/products",service="catalog",status="200"' in text

    eventually(mainapp_counted)
    eventually(catalog_counted)
    for name in ("mainapp", "catalog", "orders"):
        text = scrape(stack.env[f"{name.upper()}_URL"])
        assert f'msh_outbox_backlog{{service="{name}"}}' in text, name
        assert f'msh_dead_letters{{service="{name}"}}' in text, name


def test_the_gateway_does_not_route_a_services_metrics(client) -> None:
    assert client.get("/api/catalog/metrics").status_code == 404
    # /api/orders/* is the orders API: "metrics" is only an order id nobody has.
    assert client.get("/api/orders/metrics").status_code == 401
    token = login(client, register(client)["email"])["access"]
    signed_in = client.get("/api/orders/metrics", headers=bearer(token))
    assert signed_in.status_code == 404
    assert signed_in.json()["error"]["code"] == "not_found"
