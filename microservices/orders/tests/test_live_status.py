"""Live status over Server-Sent Events, served by a real uvicorn: the current status at once,
each committed change as PostgreSQL NOTIFYs it, heartbeats, and the end once settled."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from devstack.servers import free_port
from orders.app import create_app
from orders.domain.status import OrderStatus
from orders.settings import Settings
from orders.store import orders as order_store


@pytest.fixture
def server(settings, db) -> Iterator[str]:
    quick = Settings(
        **{
            **settings.model_dump(),
            "orders_sse_heartbeat_seconds": 0.3,
            "orders_sse_max_seconds": 30,
        }
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(quick),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def events(response: httpx.Response) -> Iterator[dict | str]:
    """Parsed events as they arrive: dicts for `status` events, "heartbeat" for comments."""
    block: list[str] = []
    for line in response.iter_lines():
        if line:
            block.append(line)
            continue
        if not block:
            continue
        if all(part.startswith(":") for part in block):
            yield "heartbeat"
        else:
            fields = dict(part.split(": ", 1) for part in block if not part.startswith(":"))
            assert fields["event"] == "status"
            data = json.loads(fields["data"])
            assert fields["id"] == str(data["version"])
            yield data
        block = []


@pytest.fixture
def place(server, products) -> Callable[..., str]:
    """``place(user)``: one mug ordered by ``user`` (priced by the real catalog); its id."""

    def place(user) -> str:
        response = httpx.post(
            f"{server}/api/orders",
            json={"lines": [{"product_id": products["mug"], "quantity": 1}]},
            headers=user.headers,
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    return place


def change(db, order_id: str, status: OrderStatus, **values) -> None:
    """A change committed by another connection, as the worker commits it."""
    with db.transaction() as session:
        assert order_store.transition(session, uuid.UUID(order_id), status, **values)


@contextlib.contextmanager
def pending_stream(server: str, order_id: str, user) -> Iterator[Iterator]:
    """The order's live stream, its first event (``pending``) already read."""
    with httpx.stream(
        "GET", f"{server}/api/orders/{order_id}/events", headers=user.headers, timeout=10
    ) as response:
        stream = events(response)
        assert next(stream)["status"] == "pending"
        yield stream


def test_the_stream_sends_now_then_each_change_then_ends(server, place, user, db):
    order_id = place(user)
    with httpx.stream(
        "GET", f"{server}/api/orders/{order_id}/events", headers=user.headers, timeout=10
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        stream = events(response)
        first = next(stream)
        assert first["status"] == "pending" and first["version"] == 1
        change(db, order_id, OrderStatus.CONFIRMED)
        later = [item for item in stream if item != "heartbeat"]
    assert [(e["status"], e["version"]) for e in later] == [("confirmed", 2)]


def test_rejection_reasons_are_in_the_event(server, place, user, db, products):
    order_id = place(user)
    reasons = [{"product_id": products["mug"], "requested": 1, "available": 0}]
    with pending_stream(server, order_id, user) as stream:
        change(db, order_id, OrderStatus.REJECTED, reasons=reasons)
        last = [item for item in stream if item != "heartbeat"][-1]
    assert last["status"] == "rejected" and last["reasons"] == reasons


def test_a_settled_order_gets_its_status_and_the_end(server, place, user, db):
    order_id = place(user)
    change(db, order_id, OrderStatus.CANCELLED)
    response = httpx.get(f"{server}/api/orders/{order_id}/events", headers=user.headers, timeout=5)
    assert [e["status"] for e in events(response)] == ["cancelled"]


def test_heartbeats_keep_an_idle_stream_open(server, place, user):
    order_id = place(user)
    with pending_stream(server, order_id, user) as stream:
        assert next(stream) == "heartbeat"
        assert next(stream) == "heartbeat"


def test_many_streams_on_one_listener_each_get_their_own_order(server, place, user, db):
    orders = [place(user) for _ in range(5)]
    seen: dict[str, list[str]] = {}
    streaming = threading.Semaphore(0)

    def watch(order_id: str) -> None:
        with httpx.stream(
            "GET", f"{server}/api/orders/{order_id}/events", headers=user.headers, timeout=10
        ) as response:
            stream = events(response)
            seen[order_id] = [next(stream)["status"]]
            streaming.release()
            seen[order_id] += [e["status"] for e in stream if e != "heartbeat"]

    threads = [threading.Thread(target=watch, args=(order_id,)) for order_id in orders]
    for thread in threads:
        thread.start()
    for _ in orders:
        assert streaming.acquire(timeout=10)
    for n, order_id in enumerate(orders):
        change(db, order_id, OrderStatus.CONFIRMED if n % 2 else OrderStatus.CANCELLED)
    for thread in threads:
        thread.join(10)
    assert seen == {
        order_id: ["pending", "confirmed" if n % 2 else "cancelled"]
        for n, order_id in enumerate(orders)
    }


def test_someone_elses_order_has_no_stream(server, place, user, new_user):
    order_id = place(user)
    response = httpx.get(
        f"{server}/api/orders/{order_id}/events", headers=new_user().headers, timeout=5
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_stream_survives_the_listener_losing_its_connection(server, place, user, db):
    order_id = place(user)
    with pending_stream(server, order_id, user) as stream:
        with db.transaction() as session:  # what a PostgreSQL restart does to it
            killed = session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN order_status%' AND pid <> pg_backend_pid()"
                )
            ).all()
        assert killed
        change(db, order_id, OrderStatus.CONFIRMED)  # may happen before it listens again
        later = [item for item in stream if item != "heartbeat"]
    assert [e["status"] for e in later] == ["confirmed"]
