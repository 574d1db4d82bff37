"""Small steps shared by the whole-stack tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from devstack import waiting
from devstack.assertions import assert_error as assert_error  # re-exported for the tests
from devstack.stub_http import access_claims

T = TypeVar("T")

PASSWORD = "correct-Horse-battery-9"


def new_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:12]}@example.com"


def register(client: httpx.Client, email: str | None = None) -> dict:
    email = email or new_email()
    response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str) -> dict:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(check: Callable[[], T], timeout: float = 20, interval: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; return it or fail."""
    return waiting.eventually(check, timeout, interval)


# --- orders and catalog (issue: orders service) ----------------------------------------------


def orders_db(stack):
    """The orders service's own database (tests look inside; the platform never does)."""
    import psycopg

    return psycopg.connect(stack.env["ORDERS_DATABASE_URL"], autocommit=True)


def staff_token(client: httpx.Client, stack) -> str:
    """An access token of the demo admin (staff) created by the seed."""
    response = client.post(
        "/api/auth/login",
        json={"email": stack.env["ADMIN_EMAIL"], "password": stack.env["ADMIN_PASSWORD"]},
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


def shopper(client: httpx.Client) -> tuple[dict, str]:
    """A registered user and an access token."""
    user = register(client)
    return user, login(client, user["email"])["access"]


def mint_shoppers(stack, count: int) -> list[tuple[str, str, str]]:
    """``count`` real users without paying for their password hashes (each register and login
    costs one): (user_id, email, token) triples, see :mod:`devstack.shoppers`."""
    from devstack.shoppers import mint_shoppers as mint

    return mint(stack.env, count)


def new_product(client: httpx.Client, staff: str, *, stock: int, price: str = "12.50") -> dict:
    """A product created by staff through the catalog API, with ``stock`` units received."""
    slug = "orders-tests"
    response = client.post(
        "/api/catalog/categories",
        json={"name": "Orders tests", "slug": slug},
        headers=bearer(staff),
    )
    assert response.status_code in (201, 409), response.text
    sku = f"T-{uuid.uuid4().hex[:10].upper()}"
    response = client.post(
        "/api/catalog/products",
        json={"sku": sku, "name": f"Test product {sku}", "price": price, "category": slug},
        headers=bearer(staff),
    )
    assert response.status_code == 201, response.text
    product = response.json()
    return receive_stock(client, staff, product, stock) if stock else product


def receive_stock(client: httpx.Client, staff: str, product: dict, quantity: int) -> dict:
    """Staff book ``quantity`` units of ``product`` into stock; the product as it is now."""
    response = client.post(
        f"/api/catalog/products/{product['id']}/stock",
        json={"quantity": quantity},
        headers=bearer(staff),
    )
    assert response.status_code == 200, response.text
    return response.json()


def stock_of(client: httpx.Client, product_id: str) -> tuple[int, int, int]:
    """(available, reserved, received) as the catalog reports them."""
    response = client.get(f"/api/catalog/products/{product_id}")
    assert response.status_code == 200, response.text
    product = response.json()
    return product["available"], product["reserved"], product["received"]


def place_order(
    client: httpx.Client,
    token: str,
    lines: list[tuple[str, int]] | None = None,
    key: str | None = None,
) -> httpx.Response:
    """POST /api/orders: the given lines, or the cart when None."""
    headers = bearer(token)
    if key:
        headers["Idempotency-Key"] = key
    body = (
        None
        if lines is None
        else {"lines": [{"product_id": product_id, "quantity": qty} for product_id, qty in lines]}
    )
    return client.post("/api/orders", json=body, headers=headers)


SETTLED = ("confirmed", "rejected", "cancelled")


def wait_settled(client: httpx.Client, token: str, order_id: str, timeout: float = 30) -> dict:
    """Poll GET /api/orders/{id} until the saga has an outcome; return the order."""

    def settled():
        """the order is confirmed, rejected or cancelled"""
        order = client.get(f"/api/orders/{order_id}", headers=bearer(token)).json()
        return order if order["status"] in SETTLED else None

    return eventually(settled, timeout=timeout, interval=0.1)


def status_events(
    client: httpx.Client,
    token: str,
    order_id: str,
    timeout: float = 30,
    progress: list[str] | None = None,
):
    """Read GET /api/orders/{id}/events to its end; returns (statuses, heartbeats). Each
    status and heartbeat is also appended to ``progress`` as it arrives, for a watching test."""
    import json

    statuses: list[dict] = []
    heartbeats = 0
    with client.stream(
        "GET", f"/api/orders/{order_id}/events", headers=bearer(token), timeout=timeout
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                statuses.append(json.loads(line[len("data: ") :]))
                if progress is not None:
                    progress.append(statuses[-1]["status"])
            elif line.startswith(":"):
                heartbeats += 1
                if progress is not None:
                    progress.append("heartbeat")
    return statuses, heartbeats


def send_to_queue(stack, queue: str, message: dict) -> None:
    """Put a raw message on a service's queue, as a producer (or a bug) would."""
    from msh_events.celery_app import make_celery_app
    from msh_events.publisher import CeleryPublisher

    CeleryPublisher(make_celery_app("tests", stack.env["REDIS_URL"])).send(message, queue)


def orders_cli(stack, *args: str) -> str:
    """``python -m orders ...`` (the operators' commands) against the stack."""
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "orders", *args],
        cwd=Path(__file__).resolve().parent.parent / "microservices" / "orders",
        env={**stack.env, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- gateway (issue: gateway edge security, resilience, observability) -------------------------


def start_gateway_process(stack, name: str, routes: str | None = None, **env: str):
    """Another gateway process next to the stack's, started exactly as the launcher starts it,
    with its own environment (e.g. strict limits, or a route table pointing at a test server).
    Returns ``(url, process)``; the caller stops the process."""
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from devstack.processes import ServiceProcess
    from devstack.servers import free_port

    spec = stack.processes["gateway"].spec
    port = str(free_port())
    extra = {**env, "GATEWAY_PORT": port}  # python -m gateway listens on GATEWAY_PORT
    if routes is not None:
        routes_file = Path(tempfile.mkdtemp(prefix="msh-gw-")) / "routes.toml"
        routes_file.write_text(routes)
        extra["GATEWAY_ROUTES_FILE"] = str(routes_file)
    spec = replace(spec, name=name, env={**spec.env, **extra}, health_url=None)
    process = ServiceProcess(spec, stack.env, stack.processes["gateway"].log_path.parent)
    process.start()
    url = f"http://127.0.0.1:{port}"

    def listening():
        """the extra gateway answers /health/live"""
        assert process.alive, process.log()[-2000:]
        try:
            return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(listening, timeout=20, interval=0.1)
    return url, process


class TestUpstream:
    """A small HTTP service in a thread: echoes what it received as JSON, and at
    ``/events`` sends Server-Sent Events one by one, ``pause`` seconds apart."""

    __test__ = False  # not a test class

    def __init__(self, pause: float = 0.5) -> None:
        import socket
        import threading

        import uvicorn

        self.pause = pause
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", access_log=False, interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        eventually(lambda: self._server.started, timeout=10, interval=0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    async def app(self, scope, receive, send) -> None:
        import asyncio
        import json

        if scope["type"] != "http":
            return
        if scope["path"].endswith("/events"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            for number in range(3):
                if number:
                    await asyncio.sleep(self.pause)
                event = f"id: {number}\ndata: event {number}\n\n".encode()
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        body = json.dumps({"path": scope["path"], "headers": headers}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def delete_account(client: httpx.Client, token: str, password: str = PASSWORD) -> httpx.Response:
    """``DELETE /api/users/me``, which needs the current password besides the token."""
    return client.request(
        "DELETE", "/api/users/me", json={"current_password": password}, headers=bearer(token)
    )


def logged(stack, process: str, message: str, **fields: object) -> int:
    """How many of ``process``'s JSON log lines say ``message`` with ``fields`` (the stack logs
    in JSON): what a worker did with a message that changed nothing visible."""
    import json

    count = 0
    for line in stack.processes[process].log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == message and all(record.get(k) == v for k, v in fields.items()):
            count += 1
    return count


def claims_for(user: dict, **overrides: Any) -> dict[str, Any]:
    """Access-token claims naming a registered ``user``, asking for staff (a forger always asks
    for the most); sign them with any key to forge a token."""
    return access_claims(sub=str(user["id"]), roles=("staff",), **overrides)
