"""Holds in documents of their own: a process that dies between the steps of a reservation or a
release leaves it half done, and the next delivery finishes it, never applying it twice. Each
"death" here is the store's own steps run up to the point where a process could stop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.domain.reservation import Line
from catalog.store.stock import (
    HELD,
    RELEASED,
    RELEASING,
    RESERVING,
    RESUME_RELEASE_AFTER_SECONDS,
    _new_hold,
)


def stock(store, product_id: str) -> tuple[int, int, int]:
    doc = store.db.products.find_one({"_id": product_id})
    return doc["available"], doc["reserved"], doc["received"]


def hold(store, order_id: str, product_id: str) -> dict | None:
    return store.db.stock_holds.find_one({"order_id": order_id, "product_id": product_id})


def pending(store, product_id: str) -> dict:
    return store.db.products.find_one({"_id": product_id}).get("pending") or {}


def long_ago() -> float:
    """A release begun this long ago was left by a process that died."""
    return time.time() - RESUME_RELEASE_AFTER_SECONDS - 1


@pytest.mark.parametrize("first", [True, False])
def test_the_product_document_does_not_grow_with_its_orders(store, make_product, first):
    product = make_product(stock=100)
    store.stock.reserve("o-0", Line(product["_id"], 1), first=first)
    before = store.db.products.find_one({"_id": product["_id"]})
    for n in range(1, 30):
        assert store.stock.reserve(f"o-{n}", Line(product["_id"], 1), first=first) is None
    assert stock(store, product["_id"]) == (70, 30, 100)
    after = store.db.products.find_one({"_id": product["_id"]})
    assert set(after) == set(before) and not after.get("pending")  # no field per order
    assert store.db.stock_holds.count_documents({"product_id": product["_id"], "state": HELD}) == 30
    assert store.stock.inconsistencies() == []


@pytest.mark.parametrize("died_after", ["begun", "taken", "recorded", "taken first"])
def test_a_reservation_left_half_done_is_finished_once(store, make_product, died_after):
    product = make_product(stock=5)
    line = Line(product["_id"], 2)
    if died_after == "taken first":  # a first attempt changes the counters before any hold
        assert store.stock._take(_new_hold("o1", line, HELD)) is None
    else:
        begun = store.stock._begin_reserving("o1", line)
    if died_after in ("taken", "recorded"):
        assert store.stock._take(begun) is None
    if died_after == "recorded":  # the hold moved on, the product's marker stayed
        store.db.stock_holds.update_one({"_id": begun["_id"]}, {"$set": {"state": HELD}})

    assert store.stock.reserve("o1", line) is None  # the redelivery
    assert stock(store, product["_id"]) == (3, 2, 5)
    assert hold(store, "o1", product["_id"])["state"] == HELD
    assert pending(store, product["_id"]) == {}  # a marker left by step 3's death goes too
    assert store.stock.inconsistencies() == []
    assert store.stock.release("o1", product["_id"]) == 2
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert pending(store, product["_id"]) == {}
    assert store.stock.inconsistencies() == []


def test_a_release_left_half_done_is_finished_once(store, make_product):
    product = make_product(stock=5)
    store.stock.reserve("o1", Line(product["_id"], 2))
    assert store.stock.release("o1", product["_id"]) == 2
    # Died after giving the units back, before recording it: the hold still says releasing,
    # since long enough that its process cannot be at it any more.
    held = hold(store, "o1", product["_id"])
    store.db.stock_holds.update_one(
        {"_id": held["_id"]}, {"$set": {"state": RELEASING, "releasing_since": long_ago()}}
    )
    store.db.products.update_one({"_id": product["_id"]}, {"$set": {"pending.o1": held["change"]}})

    assert store.stock.release_order("o1") == {product["_id"]: 2}  # resumed, not repeated
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert hold(store, "o1", product["_id"])["state"] == RELEASED
    assert store.stock.inconsistencies() == []
    assert store.stock.release_order("o1") == {}


def begun_release(store, product_id: str, *, given_back: bool) -> dict:
    """Order o1's hold of ``product_id`` as another process's release leaves it: ``releasing``
    since now, and the units given back under its marker if ``given_back``."""
    held = hold(store, "o1", product_id)
    releasing = {"state": RELEASING, "change": "c1", "releasing_since": time.time()}
    store.db.stock_holds.update_one({"_id": held["_id"]}, {"$set": releasing})
    if given_back:
        store.db.products.update_one(
            {"_id": product_id},
            {"$inc": {"available": 2, "reserved": -2}, "$set": {"pending.o1": "c1"}},
        )
    return {**held, **releasing}


def test_a_release_under_way_is_waited_for_not_done_again(store, make_product):
    """Two cancellations of one order at once: the second finds the first's release under way.
    Done again just as the first records it and removes its marker, the units would be given
    back twice; it waits for the first instead."""
    product = make_product(stock=5)
    store.stock.reserve("o1", Line(product["_id"], 2))
    begun = begun_release(store, product["_id"], given_back=True)
    first = threading.Timer(0.3, store.stock._finish, args=(begun, RELEASING, RELEASED))
    first.start()

    started = time.monotonic()
    assert store.stock.release("o1", product["_id"]) == 0  # the first one gave them back
    assert 0.25 < time.monotonic() - started < RESUME_RELEASE_AFTER_SECONDS
    first.join()
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert hold(store, "o1", product["_id"])["state"] == RELEASED
    assert store.stock.inconsistencies() == []


@pytest.mark.parametrize("given_back", [False, True])
def test_a_release_whose_process_died_is_finished_once_by_one_taker(
    store, make_product, given_back
):
    product = make_product(stock=5)
    store.stock.reserve("o1", Line(product["_id"], 2))
    begun_release(store, product["_id"], given_back=given_back)
    store.stock.resume_release_after = 0.3  # under way this long: its process died

    with ThreadPoolExecutor(max_workers=4) as pool:
        released = list(pool.map(lambda _: store.stock.release("o1", product["_id"]), range(4)))
    assert sorted(released) == [0, 0, 0, 2]
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert hold(store, "o1", product["_id"])["state"] == RELEASED
    assert pending(store, product["_id"]) == {}
    assert store.stock.inconsistencies() == []


@pytest.mark.parametrize("first", [True, False])
def test_a_reservation_whose_marker_outlived_it_is_cleaned_by_the_redelivery(
    store, make_product, first
):
    """Died between step 3's two writes: the hold says held, the product keeps the marker."""
    product = make_product(stock=5)
    line = Line(product["_id"], 2)
    assert store.stock.reserve("o1", line, first=first) is None
    change = hold(store, "o1", product["_id"])["change"]
    store.db.products.update_one({"_id": product["_id"]}, {"$set": {"pending.o1": change}})
    assert store.stock.inconsistencies() != []

    assert store.stock.reserve("o1", line) is None  # the redelivery
    assert stock(store, product["_id"]) == (3, 2, 5)
    assert pending(store, product["_id"]) == {}
    assert store.stock.inconsistencies() == []


def test_a_release_whose_marker_outlived_it_is_cleaned_by_the_redelivery(store, make_product):
    product = make_product(stock=5)
    store.stock.reserve("o1", Line(product["_id"], 2))
    assert store.stock.release_order("o1") == {product["_id"]: 2}
    change = hold(store, "o1", product["_id"])["change"]
    store.db.products.update_one({"_id": product["_id"]}, {"$set": {"pending.o1": change}})

    assert store.stock.release_order("o1") == {}  # the redelivered order.cancelled
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert pending(store, product["_id"]) == {}
    assert store.stock.inconsistencies() == []


@pytest.mark.parametrize("taken", [True, False])
def test_cancelling_an_order_whose_reservation_was_left_half_done(store, make_product, taken):
    product = make_product(stock=5)
    begun = store.stock._begin_reserving("o1", Line(product["_id"], 2))
    if taken:
        store.stock._take(begun)

    assert store.stock.release_order("o1") == ({product["_id"]: 2} if taken else {})
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert hold(store, "o1", product["_id"])["state"] == RELEASED
    assert store.stock.inconsistencies() == []


def test_a_delivery_that_outlived_its_abandoned_reservation_gives_the_units_back(
    store, make_product
):
    product = make_product(stock=5)
    line = Line(product["_id"], 2)
    zombie = store.stock._begin_reserving("o1", line)
    assert store.stock.release_order("o1") == {}  # cancelled meanwhile: abandoned
    assert store.stock._take(zombie) is None  # the slow delivery carries on...
    assert not store.stock._finish(zombie, RESERVING, HELD)  # ...finds its hold gone
    store.stock._undo_take(zombie)
    assert stock(store, product["_id"]) == (5, 0, 5)
    assert store.stock.inconsistencies() == []


def test_an_order_reserves_again_after_its_hold_was_released(store, make_product):
    product = make_product(stock=5)
    line = Line(product["_id"], 3)
    store.stock.reserve("o1", line)
    store.stock.release("o1", product["_id"])
    assert store.stock.reserve("o1", line) is None  # e.g. a rejection re-run after a crash
    assert stock(store, product["_id"]) == (2, 3, 5)
    assert store.stock.inconsistencies() == []


def test_holds_kept_in_product_documents_are_moved_to_their_own(store, make_product):
    """Products written before holds had documents of their own: ``setup`` moves them."""
    product = make_product(stock=5)
    store.db.products.update_one(
        {"_id": product["_id"]},
        {"$inc": {"available": -3, "reserved": 3}, "$set": {"reservations": {"a": 1, "b": 2}}},
    )
    assert store.stock.adopt_embedded_holds() == 2
    assert store.stock.adopt_embedded_holds() == 0
    assert "reservations" not in store.db.products.find_one({"_id": product["_id"]})
    assert store.stock.inconsistencies() == []
    assert store.stock.release_order("b") == {product["_id"]: 2}
    assert stock(store, product["_id"]) == (4, 1, 5)


def test_a_first_attempt_that_was_not_the_first_reserves_nothing_twice(store, make_product):
    product = make_product(stock=5)
    line = Line(product["_id"], 2)
    store.stock.reserve("o1", line, first=True)
    assert store.stock.reserve("o1", line, first=True) is None  # wrongly called first
    assert stock(store, product["_id"]) == (3, 2, 5)
    assert store.stock.inconsistencies() == []
