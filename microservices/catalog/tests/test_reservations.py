"""Stock reservations through the event handlers, on the real MongoDB-compatible server:
races, redeliveries, all-or-nothing, cancellation, and the stock invariant."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.events import CatalogEvents, decision_event_id
from msh_events import Event, InvalidEnvelope
from msh_events.consumer import IdempotentConsumer, Outcome, RecordNothing


@pytest.fixture
def events(store) -> CatalogEvents:
    return CatalogEvents(store)


@pytest.fixture
def consumer(store, events) -> IdempotentConsumer:
    return IdempotentConsumer(RecordNothing(), events.handlers())


# Order ids as orders makes them (UUIDs, the event contract's type).
ORDER_1, ORDER_2, O1, O2, NEVER_PLACED = (str(uuid.uuid4()) for _ in range(5))


def placed(order_id: str, *lines: tuple[str, int]) -> Event:
    return Event(
        type="order.placed",
        producer="orders",
        data={
            "order_id": order_id,
            "lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
        },
    )


def cancelled(order_id: str) -> Event:
    return Event(type="order.cancelled", producer="orders", data={"order_id": order_id})


def stock(store, product_id: str) -> tuple[int, int, int]:
    doc = store.db.products.find_one({"_id": product_id})
    return doc["available"], doc["reserved"], doc["received"]


def outbox(store, order_id: str | None = None) -> list[dict]:
    """The events the decisions announce (pending or sent), oldest first."""
    docs = store.db.order_decisions.find({"event_id": {"$exists": True}}).sort("enqueued_at", 1)
    return [doc["event"] for doc in docs if order_id is None or doc["_id"] == order_id]


def holds(store, product_id: str) -> dict[str, int]:
    """What each order holds of a product: its hold documents in state held."""
    found = store.db.stock_holds.find({"product_id": product_id, "state": "held"})
    return {doc["order_id"]: doc["quantity"] for doc in found}


def assert_invariant(store) -> None:
    assert store.stock.inconsistencies() == []


def test_an_order_reserves_every_line_and_announces_it(store, consumer, make_product):
    shirt, socks = make_product(stock=5), make_product(stock=5)
    event = placed(ORDER_1, (shirt["_id"], 2), (socks["_id"], 1))
    assert consumer.handle(event) is Outcome.HANDLED
    assert stock(store, shirt["_id"]) == (3, 2, 5)
    assert stock(store, socks["_id"]) == (4, 1, 5)
    [announced] = outbox(store)
    assert announced["type"] == "stock.reserved"
    assert announced["producer"] == "catalog"
    assert announced["id"] == decision_event_id(ORDER_1, "stock.reserved")
    assert announced["data"] == {
        "order_id": ORDER_1,
        "lines": [
            {"product_id": shirt["_id"], "quantity": 2},
            {"product_id": socks["_id"], "quantity": 1},
        ],
    }
    decision = store.decisions.get(ORDER_1)
    assert (decision["state"], decision["cause"]) == ("reserved", event.id)
    assert "token" not in decision
    assert_invariant(store)


def test_fifty_concurrent_orders_race_for_ten_units(store, events, make_product):
    product = make_product(stock=10)
    orders = [str(uuid.UUID(int=n + 1)) for n in range(50)]
    consumer = IdempotentConsumer(RecordNothing(), events.handlers())
    start = threading.Barrier(50)

    def place(order_id: str) -> Outcome:
        start.wait()
        return consumer.handle(placed(order_id, (product["_id"], 1)))

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(place, orders))

    assert outcomes == [Outcome.HANDLED] * 50
    assert stock(store, product["_id"]) == (0, 10, 10)
    announced = Counter(envelope["type"] for envelope in outbox(store))
    assert announced == {"stock.reserved": 10, "stock.rejected": 40}
    holders = holds(store, product["_id"])
    reserved_orders = {
        e["data"]["order_id"] for e in outbox(store) if e["type"] == "stock.reserved"
    }
    assert set(holders) == reserved_orders and set(holders.values()) == {1}
    assert_invariant(store)


def test_concurrent_multi_unit_orders_never_oversell(store, events, make_product):
    a, b = make_product(stock=10), make_product(stock=7)
    consumer = IdempotentConsumer(RecordNothing(), events.handlers())
    start = threading.Barrier(30)

    def place(n: int) -> None:
        start.wait()
        consumer.handle(placed(str(uuid.uuid4()), (a["_id"], 1 + n % 3), (b["_id"], 1 + n % 2)))

    with ThreadPoolExecutor(max_workers=30) as pool:
        list(pool.map(place, range(30)))

    reserved = [e["data"] for e in outbox(store) if e["type"] == "stock.reserved"]
    taken_a = sum(
        line["quantity"] for d in reserved for line in d["lines"] if line["product_id"] == a["_id"]
    )
    taken_b = sum(
        line["quantity"] for d in reserved for line in d["lines"] if line["product_id"] == b["_id"]
    )
    assert stock(store, a["_id"]) == (10 - taken_a, taken_a, 10)
    assert stock(store, b["_id"]) == (7 - taken_b, taken_b, 7)
    assert len(outbox(store)) == 30
    assert_invariant(store)


def test_a_duplicate_order_placed_changes_nothing(store, consumer, events, make_product):
    product = make_product(stock=5)
    event = placed(ORDER_1, (product["_id"], 3))
    consumer.handle(event)
    store.outbox.mark_sent([e["id"] for e in outbox(store)])
    before = (stock(store, product["_id"]), outbox(store))

    assert consumer.handle(event) is Outcome.HANDLED
    events.order_placed(event)
    events.order_placed(Event.from_dict({**event.to_dict(), "id": str(uuid.uuid4())}))
    assert (stock(store, product["_id"]), outbox(store)) == before
    assert len(outbox(store)) == 1


def test_an_order_placed_sent_again_gets_the_same_answer_again(store, consumer, make_product):
    product = make_product(stock=1)
    consumer.handle(placed(ORDER_1, (product["_id"], 1)))
    store.outbox.mark_sent([e["id"] for e in outbox(store)])  # relayed; then lost downstream
    # orders re-publishes order.placed for an order pending too long: a new event, same data
    consumer.handle(placed(ORDER_1, (product["_id"], 1)))
    [doc] = store.db.order_decisions.find()
    assert doc["announced"] == "pending"
    assert doc["event"]["id"] == doc["event_id"] == decision_event_id(ORDER_1, "stock.reserved")
    assert stock(store, product["_id"]) == (0, 1, 1)


def test_concurrent_duplicates_of_one_event_apply_it_once(store, events, make_product):
    """Eight deliveries of one order.placed at once (a relay that published it again): the
    order's document lets one decide; the others wait, find the decision and say it again."""
    product = make_product(stock=5)
    event = placed(ORDER_1, (product["_id"], 2))
    consumer = IdempotentConsumer(RecordNothing(), events.handlers())
    start = threading.Barrier(8)

    def deliver(_: int) -> Outcome:
        start.wait()
        return consumer.handle(event)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(deliver, range(8)))

    assert outcomes == [Outcome.HANDLED] * 8
    assert stock(store, product["_id"]) == (3, 2, 5)
    [announcement] = outbox(store)
    assert announcement["id"] == decision_event_id(ORDER_1, "stock.reserved")
    assert store.decisions.get(ORDER_1)["state"] == "reserved"


def test_a_delivery_that_died_holding_its_order_is_taken_over_when_its_hold_runs_out(
    store, consumer, make_product
):
    product = make_product(stock=5)
    store.decisions.seconds = 0.3
    store.decisions.take(O1)  # took the order, then died
    started = time.monotonic()
    assert consumer.handle(placed(O1, (product["_id"], 2))) is Outcome.HANDLED
    assert time.monotonic() - started >= 0.2
    assert store.decisions.get(O1)["state"] == "reserved"
    assert stock(store, product["_id"]) == (3, 2, 5)

    store.decisions.take(O2)  # and a cancellation takes over the same way
    started = time.monotonic()
    assert consumer.handle(cancelled(O2)) is Outcome.HANDLED
    assert time.monotonic() - started >= 0.2
    assert store.decisions.get(O2)["state"] == "cancelled"
    consumer.handle(placed(O2, (product["_id"], 1)))  # late: reserves nothing
    assert stock(store, product["_id"]) == (3, 2, 5)


def test_events_about_one_order_never_interleave(store, events, make_product):
    """Two order.placed for one order (orders re-publishes a stale one) and its cancellation,
    all at once, with stock arriving meanwhile: one decision, and nothing left held."""
    a, b = make_product(stock=1), make_product(stock=0)
    consumer = IdempotentConsumer(RecordNothing(), events.handlers())
    start = threading.Barrier(4)

    def deliver(n: int) -> None:
        start.wait()
        if n < 2:
            consumer.handle(placed(ORDER_1, (a["_id"], 1), (b["_id"], 1)))
        elif n == 2:
            store.stock.receive(b["_id"], 1)
        else:
            time.sleep(0.05)
            consumer.handle(cancelled(ORDER_1))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, range(4)))
    assert len(outbox(store, ORDER_1)) <= 1
    assert store.decisions.get(ORDER_1)["state"] == "cancelled"
    assert stock(store, a["_id"]) == (1, 0, 1)
    assert stock(store, b["_id"]) == (1, 0, 1)
    assert_invariant(store)


def test_all_or_nothing_when_the_second_line_cannot_be_reserved(store, consumer, make_product):
    first, second, third = make_product(stock=5), make_product(stock=1), make_product(stock=0)
    consumer.handle(placed(ORDER_1, (first["_id"], 2), (second["_id"], 2), (third["_id"], 1)))

    assert stock(store, first["_id"]) == (5, 0, 5)  # reserved, then released
    assert stock(store, second["_id"]) == (1, 0, 1)
    assert holds(store, first["_id"]) == {}
    assert not store.db.products.find_one({"_id": first["_id"]}).get("pending")
    [announced] = outbox(store)
    assert announced["type"] == "stock.rejected"
    assert announced["id"] == decision_event_id(ORDER_1, "stock.rejected")
    assert announced["data"] == {
        "order_id": ORDER_1,
        "reasons": [
            {
                "product_id": second["_id"],
                "requested": 2,
                "available": 1,
                "code": "insufficient_stock",
            },
            {
                "product_id": third["_id"],
                "requested": 1,
                "available": 0,
                "code": "insufficient_stock",
            },
        ],
    }
    assert_invariant(store)


def test_unknown_and_inactive_products_are_rejected(store, consumer, make_product):
    gone = make_product(stock=5, active=False)
    consumer.handle(placed(ORDER_1, ("no-such-product", 1), (gone["_id"], 1)))
    [announced] = outbox(store)
    assert [reason["code"] for reason in announced["data"]["reasons"]] == [
        "unknown_product",
        "inactive_product",
    ]
    assert stock(store, gone["_id"]) == (5, 0, 5)


def test_a_rejected_order_stays_rejected_when_redelivered_after_restock(
    store, events, make_product
):
    product = make_product(stock=1)
    event = placed(ORDER_1, (product["_id"], 2))
    events.order_placed(event)
    store.stock.receive(product["_id"], 5)
    events.order_placed(event)  # e.g. the worker died before recording it
    assert [e["type"] for e in outbox(store)] == ["stock.rejected"]
    assert stock(store, product["_id"]) == (6, 0, 6)


def test_lines_of_one_product_are_reserved_as_one(store, consumer, make_product):
    product = make_product(stock=5)
    consumer.handle(placed(ORDER_1, (product["_id"], 2), (product["_id"], 3)))
    assert stock(store, product["_id"]) == (0, 5, 5)
    assert outbox(store)[0]["data"]["lines"] == [{"product_id": product["_id"], "quantity": 5}]


def test_order_cancelled_releases_exactly_what_the_order_holds_once(
    store, consumer, events, make_product
):
    a, b = make_product(stock=5), make_product(stock=5)
    consumer.handle(placed(ORDER_1, (a["_id"], 2), (b["_id"], 3)))
    consumer.handle(placed(ORDER_2, (a["_id"], 1)))
    cancel = cancelled(ORDER_1)

    assert consumer.handle(cancel) is Outcome.HANDLED
    assert stock(store, a["_id"]) == (4, 1, 5)  # order-2 still holds its unit
    assert stock(store, b["_id"]) == (5, 0, 5)
    assert consumer.handle(cancel) is Outcome.HANDLED  # delivered again
    events.order_cancelled(cancelled(ORDER_1))  # a second cancellation event
    assert stock(store, a["_id"]) == (4, 1, 5)
    assert stock(store, b["_id"]) == (5, 0, 5)
    assert store.decisions.get(ORDER_1)["state"] == "cancelled"
    assert_invariant(store)


def test_concurrent_cancellations_release_once(store, consumer, events, make_product):
    """Ten deliveries of one cancellation at once, twenty times over: a release another
    delivery has under way is left to it (one in ten or so was applied twice before)."""
    for _ in range(20):
        order_id = str(uuid.uuid4())
        product = make_product(stock=5)
        consumer.handle(placed(order_id, (product["_id"], 4)))
        at_once(10, lambda order_id=order_id: events.order_cancelled(cancelled(order_id)))
        assert stock(store, product["_id"]) == (5, 0, 5)
    assert_invariant(store)


def at_once(threads: int, call) -> None:
    """``call`` in ``threads`` threads released together."""
    start = threading.Barrier(threads)

    def run(_: int) -> None:
        start.wait()
        call()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, range(threads)))


def test_cancelling_an_order_that_holds_nothing_is_a_no_op(store, consumer, make_product):
    product = make_product(stock=1)
    consumer.handle(placed(ORDER_1, (product["_id"], 5)))  # rejected: holds nothing
    assert consumer.handle(cancelled(ORDER_1)) is Outcome.HANDLED
    assert consumer.handle(cancelled(NEVER_PLACED)) is Outcome.HANDLED
    assert stock(store, product["_id"]) == (1, 0, 1)


def test_an_order_cancelled_before_it_was_placed_never_reserves(store, consumer, make_product):
    product = make_product(stock=5)
    consumer.handle(cancelled(ORDER_1))  # overtook its order.placed
    consumer.handle(placed(ORDER_1, (product["_id"], 2)))
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert outbox(store) == []  # nobody waits for an answer about a cancelled order


def test_invariant_after_a_storm_of_orders_cancellations_and_receipts(store, events, make_product):
    products = [make_product(stock=4) for _ in range(3)]
    consumer = IdempotentConsumer(RecordNothing(), events.handlers())

    def work(n: int) -> None:
        pid = products[n % 3]["_id"]
        order = str(uuid.uuid4())
        consumer.handle(placed(order, (pid, 1 + n % 2), (products[(n + 1) % 3]["_id"], 1)))
        if n % 3 == 0:
            consumer.handle(cancelled(order))
        if n % 7 == 0:
            store.stock.receive(pid, 2)

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(work, range(40)))
    assert_invariant(store)
    for product in products:
        available, reserved, received = stock(store, product["_id"])
        assert available >= 0 and reserved >= 0 and available + reserved == received


def test_events_that_break_the_contract_raise_so_they_are_retried_then_dead_lettered(
    events, make_product
):
    product = make_product(stock=1)
    bad = [
        {"order_id": "has.dot", "lines": [{"product_id": product["_id"], "quantity": 1}]},
        {"order_id": "$where", "lines": [{"product_id": product["_id"], "quantity": 1}]},
        {"order_id": O1, "lines": []},
        {"order_id": O1, "lines": [{"product_id": {"$gt": ""}, "quantity": 1}]},
        {"order_id": O1, "lines": [{"product_id": product["_id"], "quantity": 0}]},
        {"lines": [{"product_id": product["_id"], "quantity": 1}]},
    ]
    for data in bad:
        with pytest.raises(InvalidEnvelope):
            events.order_placed(Event(type="order.placed", producer="orders", data=data))
    with pytest.raises(InvalidEnvelope):
        events.order_cancelled(Event(type="order.cancelled", producer="orders", data={}))


def test_a_delivery_that_failed_after_reserving_is_retried_at_once_and_reserves_once(
    store, consumer, make_product, monkeypatch
):
    """The order's first delivery reserved its lines, then failed before deciding: it gives
    the order back, and the retry takes it over at once (not as a first attempt), finds the
    lines held and decides."""
    a, b = make_product(stock=5), make_product(stock=5)
    event = placed(ORDER_1, (a["_id"], 2), (b["_id"], 1))
    decide = store.decisions.decide

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(store.decisions, "decide", decide)
        raise ConnectionError("the database went away")

    monkeypatch.setattr(store.decisions, "decide", fail_once)
    with pytest.raises(ConnectionError):
        consumer.handle(event)
    assert stock(store, a["_id"]) == (3, 2, 5)  # held, not yet decided

    started = time.monotonic()
    assert consumer.handle(event) is Outcome.HANDLED
    assert time.monotonic() - started < 1  # no waiting for the hold to run out
    assert stock(store, a["_id"]) == (3, 2, 5) and stock(store, b["_id"]) == (4, 1, 5)
    assert [e["type"] for e in outbox(store)] == ["stock.reserved"]
    assert_invariant(store)
