"""The state machine as the database enforces it: the trigger agrees with domain/status.py,
and a transition is a conditional UPDATE that a racing or late change cannot undo."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from orders.domain.pricing import PricedLine, PricedOrder
from orders.domain.status import OrderStatus, legal_pairs
from orders.store import orders as order_store


def place(db, user_id=None) -> uuid.UUID:
    priced = PricedOrder(lines=(PricedLine("p1", "Mug", Decimal("2.50"), 2),), currency="EUR")
    with db.transaction() as session:
        return order_store.insert_order(
            session,
            user_id=user_id or uuid.uuid4(),
            priced=priced,
            idempotency_key=None,
            fingerprint=None,
        ).id


def force(db, order_id, status: str) -> None:
    """Set a status with a raw UPDATE, as a buggy caller would (with its timestamp, so that
    only the status machine can object)."""
    with db.transaction() as session:
        session.execute(
            text(
                "UPDATE orders SET status = CAST(:s AS text), "
                "confirmed_at = CASE WHEN CAST(:s AS text) = 'confirmed' THEN now() "
                "ELSE confirmed_at END, "
                "rejected_at = CASE WHEN CAST(:s AS text) = 'rejected' THEN now() "
                "ELSE rejected_at END, "
                "cancelled_at = CASE WHEN CAST(:s AS text) = 'cancelled' THEN now() "
                "ELSE cancelled_at END "
                "WHERE id = :id"
            ),
            {"s": status, "id": order_id},
        )


def walk_to(db, order_id, status: OrderStatus) -> None:
    path = {
        OrderStatus.PENDING: [],
        OrderStatus.CONFIRMED: ["confirmed"],
        OrderStatus.REJECTED: ["rejected"],
        OrderStatus.CANCELLED: ["cancelled"],
    }[status]
    for step in path:
        force(db, order_id, step)


@pytest.mark.parametrize("current", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_the_trigger_allows_exactly_the_domain_transitions(db, current, target):
    if current == target:
        return
    order_id = place(db)
    walk_to(db, order_id, current)
    if (current, target) in legal_pairs():
        force(db, order_id, target.value)
    else:
        with pytest.raises(IntegrityError, match="cannot go from"):
            force(db, order_id, target.value)


def test_a_new_order_is_pending_and_status_values_are_checked(db):
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO orders (id, user_id, status, currency, total, confirmed_at) "
                "VALUES (gen_random_uuid(), gen_random_uuid(), 'confirmed', 'EUR', 1, now())"
            )
        )
    order_id = place(db)
    with pytest.raises(IntegrityError, match="CheckViolation"):
        force(db, order_id, "shipped")


def test_each_change_of_status_bumps_the_version_and_nothing_else_does(db):
    order_id = place(db)
    with db.transaction() as session:
        session.execute(
            text("UPDATE orders SET version = 42, currency = 'USD' WHERE id = :id"),
            {"id": order_id},
        )
        assert order_store.get_order(session, order_id).version == 1
    with db.transaction() as session:
        order = order_store.transition(session, order_id, OrderStatus.CONFIRMED)
        assert order.version == 2 and order.confirmed_at is not None
    with db.transaction() as session:
        order = order_store.transition(session, order_id, OrderStatus.CANCELLED)
        assert order.version == 3 and order.status == "cancelled"


def test_a_transition_not_allowed_now_updates_nothing(db):
    order_id = place(db)
    with db.transaction() as session:
        assert (
            order_store.transition(session, order_id, OrderStatus.REJECTED, reasons=[]) is not None
        )
    with db.transaction() as session:
        # a late stock.reserved, a duplicate rejection, a cancel: none applies to rejected
        assert order_store.transition(session, order_id, OrderStatus.CONFIRMED) is None
        assert order_store.transition(session, order_id, OrderStatus.REJECTED) is None
        assert order_store.transition(session, order_id, OrderStatus.CANCELLED) is None
        assert order_store.current_status(session, order_id) is OrderStatus.REJECTED


def test_of_racing_confirm_and_reject_exactly_one_wins(db):
    for _ in range(10):
        order_id = place(db)
        winners: list[OrderStatus] = []
        barrier = threading.Barrier(2)

        def apply(target: OrderStatus, order_id=order_id, barrier=barrier, winners=winners):
            barrier.wait()
            with db.transaction() as session:
                if order_store.transition(session, order_id, target) is not None:
                    winners.append(target)

        threads = [
            threading.Thread(target=apply, args=(t,))
            for t in (OrderStatus.CONFIRMED, OrderStatus.REJECTED)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1
        with db.transaction() as session:
            order = order_store.get_order(session, order_id)
            assert order.status == winners[0] and order.version == 2
