"""Consuming stock.reserved, stock.rejected and user.deleted: effects applied once, the outbox
written in the same transaction, late and duplicate events changing nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from msh_events import Event, InvalidEnvelope
from msh_events.consumer import IdempotentConsumer, Outcome
from orders.domain.pricing import PricedLine, PricedOrder
from orders.domain.status import OrderStatus
from orders.events import make_consumer, publish
from orders.store import carts
from orders.store import orders as order_store
from orders.store.events import SqlProcessedEventStore, handler_session
from orders.store.models import Order, ProcessedEvent


def place(db, user_id=None, lines=(("p1", "Mug", "2.50", 2),)) -> uuid.UUID:
    priced = PricedOrder(
        lines=tuple(PricedLine(pid, name, Decimal(price), qty) for pid, name, price, qty in lines),
        currency="EUR",
    )
    with db.transaction() as session:
        return order_store.insert_order(
            session,
            user_id=user_id or uuid.uuid4(),
            priced=priced,
            idempotency_key="k1",
            fingerprint="f",
        ).id


# What the catalog reserved (orders reads only the order id of stock.reserved).
LINES = [{"product_id": "p1", "quantity": 2}]


def event(event_type: str, **data) -> Event:
    return Event(
        type=event_type,
        data={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()},
        producer="catalog",
    )


def order(db, order_id) -> Order:
    with db.transaction() as session:
        return order_store.get_order(session, order_id)


@pytest.fixture
def consumer(db):
    return make_consumer(db)


def test_stock_reserved_confirms_and_sends_order_confirmed(db, consumer, outbox):
    user_id = uuid.uuid4()
    order_id = place(db, user_id, lines=(("p1", "Mug", "2.50", 2), ("p2", "Towel", "5", 1)))
    reserved = event("stock.reserved", order_id=order_id, lines=LINES)

    assert consumer.handle(reserved) is Outcome.HANDLED

    confirmed = order(db, order_id)
    assert confirmed.status == "confirmed" and confirmed.confirmed_at is not None
    [out] = outbox("order.confirmed")
    assert out["data"] == {
        "order_id": str(order_id),
        "user_id": str(user_id),
        "currency": "EUR",
        "total": "10.00",
        "lines": [
            {
                "product_id": "p1",
                "name": "Mug",
                "quantity": 2,
                "unit_price": "2.50",
                "line_total": "5.00",
            },
            {
                "product_id": "p2",
                "name": "Towel",
                "quantity": 1,
                "unit_price": "5",
                "line_total": "5",
            },
        ],
    }


def test_a_duplicated_stock_reserved_changes_nothing(db, consumer, outbox):
    order_id = place(db)
    reserved = event("stock.reserved", order_id=order_id, lines=LINES)
    assert consumer.handle(reserved) is Outcome.HANDLED
    # the same event again (redelivery), and another one for the same order (catalog answered
    # a re-published order.placed)
    assert consumer.handle(reserved) is Outcome.DUPLICATE
    assert (
        consumer.handle(event("stock.reserved", order_id=order_id, lines=LINES)) is Outcome.HANDLED
    )
    assert order(db, order_id).version == 2
    assert len(outbox("order.confirmed")) == 1
    assert outbox("order.cancelled") == []


def test_stock_rejected_rejects_with_the_reasons_and_a_late_reservation_is_released(
    db, consumer, outbox
):
    order_id = place(db)
    reasons = [{"product_id": "p1", "requested": 2, "available": 1, "code": "insufficient_stock"}]
    consumer.handle(event("stock.rejected", order_id=order_id, reasons=reasons))
    rejected = order(db, order_id)
    assert rejected.status == "rejected" and rejected.reasons == reasons
    assert outbox("order.confirmed") == []
    [told] = outbox("order.rejected")  # for mainapp: the customer's open sockets
    assert told["data"]["order_id"] == str(order_id) and told["data"]["reasons"] == reasons

    # a reservation arriving after the rejection never confirms; the stock goes back
    consumer.handle(event("stock.reserved", order_id=order_id, lines=LINES))
    assert order(db, order_id).status == "rejected"
    [release] = outbox("order.cancelled")
    assert release["data"]["order_id"] == str(order_id)
    assert "user_id" not in release["data"]  # stock released: nothing the customer sees changed


def test_a_reservation_for_an_order_cancelled_meanwhile_is_released(db, consumer, outbox):
    order_id = place(db)
    with db.transaction() as session:
        order_store.transition(session, order_id, OrderStatus.CANCELLED)
    consumer.handle(event("stock.reserved", order_id=order_id, lines=LINES))
    assert order(db, order_id).status == "cancelled"
    assert len(outbox("order.cancelled")) == 1
    assert outbox("order.confirmed") == []


def test_a_late_rejection_never_moves_a_confirmed_order_back(db, consumer):
    order_id = place(db)
    consumer.handle(event("stock.reserved", order_id=order_id, lines=LINES))
    consumer.handle(event("stock.rejected", order_id=order_id, reasons=[]))
    assert order(db, order_id).status == "confirmed"
    assert order(db, order_id).reasons is None


def test_an_event_for_an_unknown_order_is_recorded_and_ignored(db, consumer, outbox):
    assert (
        consumer.handle(event("stock.reserved", order_id=uuid.uuid4(), lines=LINES))
        is Outcome.HANDLED
    )
    assert outbox() == []


def test_an_event_breaking_its_contract_is_a_permanent_error(db, consumer):
    for bad in (
        event("stock.reserved", order_id="not-a-uuid"),
        event("stock.rejected", lines=[]),
        event("stock.rejected", order_id=uuid.uuid4(), reasons="short"),
    ):
        with pytest.raises(InvalidEnvelope):  # dead-lettered at once, not retried
            consumer.handle(bad)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


def test_a_failing_handler_records_nothing_so_a_retry_applies_it(db, outbox):
    calls: list[str] = []

    def flaky(evt: Event) -> None:
        calls.append(evt.id)
        publish(handler_session(), "order.cancelled", {"order_id": "side-effect"})
        if len(calls) == 1:
            raise ConnectionError("transient")

    flaky_consumer = IdempotentConsumer(SqlProcessedEventStore(db), {"thing.happened": flaky})
    happened = event("thing.happened")
    with pytest.raises(ConnectionError):
        flaky_consumer.handle(happened)
    assert outbox() == []  # the effect rolled back with the record of the event
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
    assert flaky_consumer.handle(happened) is Outcome.HANDLED
    assert flaky_consumer.handle(happened) is Outcome.DUPLICATE
    assert len(outbox("order.cancelled")) == 1


def test_user_deleted_anonymises_their_orders_and_drops_their_cart(db, consumer):
    user_id, other = uuid.uuid4(), uuid.uuid4()
    mine = place(db, user_id)
    theirs = place(db, other)
    with db.transaction() as session:
        carts.set_quantity(session, user_id, "p1", 1, max_lines=5)

    consumer.handle(event("user.deleted", user_id=user_id))

    anonymous = order(db, mine)
    assert anonymous.user_id is None
    assert anonymous.idempotency_key is None and anonymous.anonymised_at is not None
    assert anonymous.total == Decimal("5.00") and len(anonymous.lines) == 1  # kept for accounts
    assert order(db, theirs).user_id == other
    with db.transaction() as session:
        assert carts.cart_items(session, user_id) == []
