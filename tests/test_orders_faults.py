"""No loss under faults: workers killed with SIGKILL while orders flow; a poison event parked
in the dead-letter store and replayed once the cause is fixed."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
import uuid

import httpx
from helpers import (
    delete_account,
    eventually,
    mint_shoppers,
    new_product,
    orders_cli,
    orders_db,
    place_order,
    send_to_queue,
    shopper,
    staff_token,
    stock_of,
)

ORDERS = 40


def in_flight(stack, queue: str) -> int:
    """Messages of ``queue`` taken by a worker and not yet acknowledged (kombu's ``unacked``)."""
    entries = stack.redis().hvals("unacked")
    return sum(1 for raw in entries if json.loads(raw)[2] == queue)


def test_killing_both_workers_loses_no_order_and_applies_none_twice(stack, client):
    staff = staff_token(client, stack)
    products = [new_product(client, staff, stock=12) for _ in range(2)]
    shoppers = mint_shoppers(stack, ORDERS)
    placed: list[tuple[str, str, int]] = []  # (order id, product id, quantity)
    rng = random.Random(7)

    def place_steadily() -> None:
        with httpx.Client(base_url=stack.url, timeout=30) as own:
            for _, _, token in shoppers:
                product, quantity = rng.choice(products)["id"], rng.randint(1, 2)
                response = place_order(own, token, [(product, quantity)])
                assert response.status_code == 202, response.text
                placed.append((response.json()["id"], product, quantity))
                time.sleep(0.1)

    # Workers that take a moment per event, so each is killed with events in its hands.
    for worker in ("catalog-worker", "orders-worker"):
        slow = stack.restart(worker, EVENTS_HANDLER_DELAY="0.3")
        eventually(lambda slow=slow: " ready." in slow.log(), timeout=30)
    producer = threading.Thread(target=place_steadily)
    producer.start()
    for worker, queue in (("catalog-worker", "catalog"), ("orders-worker", "orders")):
        eventually(lambda queue=queue: in_flight(stack, queue), timeout=30, interval=0.02)
        stack.processes[worker].signal(signal.SIGKILL)  # no ack, no clean-up: a crash
        stack.processes[worker].process.wait()
        time.sleep(0.5)
        stack.restart(worker)
    producer.join(60)
    assert len(placed) == ORDERS

    order_ids = [order_id for order_id, _, _ in placed]

    def settled():
        """every order is confirmed or rejected"""
        with orders_db(stack) as db:
            return (
                db.execute(
                    "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = 'pending'",
                    (order_ids,),
                ).fetchone()[0]
                == 0
            )

    eventually(settled, timeout=90, interval=0.5)
    with orders_db(stack) as db:
        rows = db.execute(
            "SELECT o.id::text, o.status, o.version, "
            "(SELECT count(*) FROM outbox_events e WHERE e.type = 'order.confirmed' "
            " AND e.envelope->'data'->>'order_id' = o.id::text) "
            "FROM orders o WHERE o.id = ANY(%s::uuid[])",
            (order_ids,),
        ).fetchall()
    by_id = {
        order_id: (status, version, confirmations)
        for order_id, status, version, confirmations in rows
    }
    assert {status for status, _, _ in by_id.values()} <= {"confirmed", "rejected"}
    assert all(version == 2 for _, version, _ in by_id.values())  # one change of status each
    for status, _, confirmations in by_id.values():
        assert confirmations == (1 if status == "confirmed" else 0)
    for product in products:
        available, reserved, received = stock_of(client, product["id"])
        assert available + reserved == received == 12
        confirmed = sum(
            quantity
            for order_id, pid, quantity in placed
            if pid == product["id"] and by_id[order_id][0] == "confirmed"
        )
        assert reserved == confirmed


def dead_letters(stack, event_type: str, key: str, value: str) -> list[tuple[int, str]]:
    with orders_db(stack) as db:
        return db.execute(
            "SELECT id, error FROM dead_letters WHERE type = %s AND message->'data'->>%s = %s "
            "AND replayed_at IS NULL ORDER BY id",
            (event_type, key, value),
        ).fetchall()


def test_a_poison_event_is_dead_lettered_then_replayed_once_fixed(stack, client):
    staff = staff_token(client, stack)
    product = new_product(client, staff, stock=2)
    user, token = shopper(client)
    order = place_order(client, token, [(product["id"], 1)]).json()
    trigger = f"test_poison_{uuid.uuid4().hex[:8]}"
    with orders_db(stack) as db:  # a bug that makes anonymising this user's orders fail
        db.execute(
            "CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'poisoned for the test'; END $$"
        )
        db.execute(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE ON orders FOR EACH ROW "
            f"WHEN (OLD.user_id = '{uuid.UUID(user['id'])}'::uuid AND NEW.user_id IS NULL) "
            "EXECUTE FUNCTION test_poison()"
        )
    try:
        assert delete_account(client, token).status_code == 204
        # user.deleted fails, is retried with backoff, then parked
        [(dead_id, error)] = eventually(
            lambda: dead_letters(stack, "user.deleted", "user_id", user["id"]), timeout=60
        )
        assert "poisoned for the test" in error
        assert str(dead_id) in orders_cli(stack, "deadletters", "list")
    finally:
        with orders_db(stack) as db:
            db.execute(f"DROP TRIGGER IF EXISTS {trigger} ON orders")

    assert "replayed 1 message(s)" in orders_cli(stack, "deadletters", "replay", str(dead_id))

    def anonymised():
        """the replayed user.deleted was applied"""
        with orders_db(stack) as db:
            return db.execute(
                "SELECT user_id IS NULL FROM orders WHERE id = %s", (order["id"],)
            ).fetchone()[0]

    eventually(anonymised, timeout=20)
    assert dead_letters(stack, "user.deleted", "user_id", user["id"]) == []


def test_a_message_that_is_not_an_event_is_dead_lettered_at_once(stack):
    marker = uuid.uuid4().hex
    send_to_queue(stack, "orders", {"not": "an envelope", "marker": marker})

    def parked():
        """the message is in the dead-letter store"""
        with orders_db(stack) as db:
            return db.execute(
                "SELECT attempts, error FROM dead_letters WHERE message->>'marker' = %s",
                (marker,),
            ).fetchall()

    [(attempts, error)] = eventually(parked, timeout=20)
    assert attempts == 1 and "InvalidEnvelope" in error
    assert "InvalidEnvelope" in orders_cli(stack, "deadletters", "list")
