"""The outbox, the order holds and dead letters on MongoDB, and a real Celery worker on the
real Redis: an order.placed in the catalog queue becomes stock.reserved in the orders queue."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from celery.contrib.testing.worker import start_worker

from catalog.__main__ import main
from catalog.bus import service_events
from catalog.store.decisions import State
from catalog.worker import create_worker_app
from devstack.waiting import eventually, queued
from msh_events import Event
from msh_events.celery_app import EVENT_TASK_NAME, make_celery_app


def an_event(n: int = 0) -> Event:
    return Event(type="stock.reserved", producer="catalog", data={"order_id": f"o{n}", "lines": []})


def decided(store, n: int = 0) -> Event:
    """Order ``o<n>`` decided: its decision carries its announcement, pending."""
    event = an_event(n)
    hold = store.decisions.take(f"o{n}")
    assert store.decisions.decide(hold, State.RESERVED, event, cause="test") is not None
    return event


def test_a_decision_is_its_own_pending_announcement_until_marked_sent(store):
    event = decided(store)
    [doc] = store.db.order_decisions.find()
    assert (doc["_id"], doc["event_id"], doc["event"]) == ("o0", event.id, event.to_dict())
    assert store.outbox.backlog() == 1
    with store.outbox.claim(10, min_age_seconds=60) as claimed:
        assert claimed == []  # the immediate relay's for a while
    store.outbox.mark_sent([event.id])
    assert store.outbox.backlog() == 0
    assert store.outbox.resend("o0", event) is True  # asked again: pending again, same event
    with store.outbox.claim(10) as claimed:
        assert [e.to_dict() for e in claimed] == [event.to_dict()]
    assert store.outbox.backlog() == 0


def test_a_cancelled_order_never_decided_announces_nothing(store):
    assert store.decisions.cancel("o9") is None
    assert store.outbox.resend("o9", an_event(9)) is False
    assert store.outbox.resend("unknown", an_event(8)) is False
    assert store.outbox.backlog() == 0
    with store.outbox.claim(10) as claimed:
        assert claimed == []


def test_a_decision_recorded_before_decisions_were_the_outbox_is_announced_again(store):
    """Such a decision has its event but no announcement fields."""
    event = decided(store)
    store.db.order_decisions.update_one(
        {"_id": "o0"}, {"$unset": {"event_id": "", "announced": "", "enqueued_at": ""}}
    )
    assert store.outbox.backlog() == 0
    assert store.outbox.resend("o0", event) is True
    with store.outbox.claim(10) as claimed:
        assert [e.id for e in claimed] == [event.id]


def test_setup_queues_what_the_old_outbox_collection_had_pending_and_drops_it(
    store, settings, monkeypatch, capsys
):
    """Versions before the decisions carried their announcements kept them in ``outbox``."""
    pending, sent = decided(store, 1), decided(store, 2)
    store.outbox.mark_sent([pending.id, sent.id])
    store.db.outbox.insert_many(
        [
            {"_id": pending.id, "envelope": pending.to_dict(), "state": "pending"},
            {"_id": sent.id, "envelope": sent.to_dict(), "state": "sent"},
        ]
    )
    monkeypatch.setenv("CATALOG_MONGO_DB", settings.catalog_mongo_db)
    assert main(["setup", "--no-seed"]) == 0
    assert "queued 1 pending event(s)" in capsys.readouterr().out
    assert "outbox" not in store.db.list_collection_names()
    with store.outbox.claim(10) as claimed:
        assert [e.id for e in claimed] == [pending.id]
    assert main(["setup", "--no-seed"]) == 0  # once only
    assert "queued" not in capsys.readouterr().out


def test_the_relay_publishes_to_the_consumer_queues_and_marks_sent(store, settings, broker):
    events = [decided(store, n) for n in range(3)]
    relay = service_events(settings, lambda: store).relay()
    assert relay.relay_pending() == 3
    assert relay.relay_pending() == 0
    assert store.outbox.backlog() == 0
    assert [e["id"] for e in queued(broker, "orders")] == [e.id for e in events]
    assert queued(broker, "catalog") == []


def test_a_failed_publish_leaves_the_events_pending(store):
    decided(store)

    class BrokerDown:
        def publish(self, event):
            raise ConnectionError("broker down")

    from msh_events import OutboxRelay

    with pytest.raises(ConnectionError):
        OutboxRelay(store.outbox, BrokerDown()).relay_pending()
    assert store.outbox.backlog() == 1
    with store.outbox.claim(10) as claimed:  # released at once, not after the lease
        assert len(claimed) == 1


def test_concurrent_relays_never_claim_the_same_event(store):
    for n in range(40):
        decided(store, n)
    published: list[str] = []
    lock = threading.Lock()

    class Recorder:
        def publish(self, event):
            time.sleep(0.001)
            with lock:
                published.append(event.id)

    from msh_events import OutboxRelay

    start = threading.Barrier(4)

    def sweep(_: int) -> int:
        start.wait()
        return OutboxRelay(store.outbox, Recorder(), batch_size=5).relay_pending()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(sweep, range(4)))
    assert sum(counts) == 40
    assert len(published) == len(set(published)) == 40
    assert store.outbox.backlog() == 0


def test_a_claim_abandoned_by_a_dead_relay_is_taken_again_after_its_lease(store):
    store.outbox.claim_seconds = 0.3
    decided(store)
    claim = store.outbox.claim(10)
    assert len(claim.__enter__()) == 1  # the relay "dies" holding it
    with store.outbox.claim(10) as claimed:
        assert claimed == []
    time.sleep(0.4)
    with store.outbox.claim(10) as claimed:
        assert len(claimed) == 1
    assert store.outbox.backlog() == 0


def test_an_order_is_decided_by_one_delivery_at_a_time(store):
    """The order's decision document is its hold: one holder at a time."""
    inside: list[int] = []
    overlaps: list[int] = []
    start = threading.Barrier(6)

    def work(n: int) -> None:
        start.wait()
        for _ in range(3):
            hold = store.decisions.take("o1")
            assert hold.token is not None
            if inside:
                overlaps.append(n)
            inside.append(n)
            time.sleep(0.005)
            inside.remove(n)
            store.decisions.let_go(hold)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(work, range(6)))
    assert overlaps == []
    # given back, each runs out at once: the next delivery takes it over
    assert [doc["until"] for doc in store.db.order_decisions.find()] == [0.0]


@pytest.fixture
def worker(settings, store, broker):
    """The catalog's own worker app on a real Redis, with fast retries."""
    fast = settings.model_copy(
        update={"events": replace(settings.events, max_retries=2, retry_backoff_max=0.2)}
    )
    app = create_worker_app(fast, store)
    app.conf.task_default_queue = "catalog"
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10
    ):
        yield app


def sender(settings):
    """Another service's view of the broker: it only sends."""
    return make_celery_app("test", settings.redis_url)


def test_order_placed_in_the_catalog_queue_becomes_stock_reserved_in_the_orders_queue(
    worker, settings, store, broker, make_product
):
    product = make_product(stock=4)
    order_id = str(uuid.uuid4())
    event = Event(
        type="order.placed",
        producer="orders",
        data={"order_id": order_id, "lines": [{"product_id": product["_id"], "quantity": 3}]},
    )
    sender(settings).send_task(EVENT_TASK_NAME, args=[event.to_dict()], queue="catalog")

    [announced] = eventually(lambda: queued(broker, "orders"))
    assert announced["type"] == "stock.reserved"
    assert announced["data"]["order_id"] == order_id
    eventually(lambda: store.outbox.backlog() == 0)  # relayed after the handler: no sweep runs
    doc = store.db.products.find_one({"_id": product["_id"]})
    hold = store.db.stock_holds.find_one({"order_id": order_id})
    assert (doc["available"], doc["reserved"], hold["quantity"], hold["state"]) == (1, 3, 3, "held")
    assert store.decisions.get(order_id)["cause"] == event.id

    # The same message again (a redelivery) reserves nothing more and says the same again.
    sender(settings).send_task(EVENT_TASK_NAME, args=[event.to_dict()], queue="catalog")
    again = eventually(lambda: len(queued(broker, "orders")) == 2 and queued(broker, "orders"))
    assert {message["id"] for message in again} == {announced["id"]}
    doc = store.db.products.find_one({"_id": product["_id"]})
    hold = store.db.stock_holds.find_one({"order_id": order_id})
    assert (doc["available"], doc["reserved"], hold["quantity"], hold["state"]) == (1, 3, 3, "held")


def test_a_poison_event_is_dead_lettered_at_once_and_can_be_replayed(
    worker, settings, store, broker, capsys, monkeypatch
):
    poison = Event(type="order.placed", producer="orders", data={"order_id": "$bad", "lines": []})
    sender(settings).send_task(EVENT_TASK_NAME, args=[poison.to_dict()], queue="catalog")
    sender(settings).send_task(
        EVENT_TASK_NAME, args=[{"$where": "not an envelope"}], queue="catalog"
    )

    eventually(lambda: len(store.dead_letters.list()) == 2)
    dead = {d["event_id"]: d for d in store.dead_letters.list()}
    assert dead[poison.id]["attempts"] == 1  # broken contract: no retry can help
    assert "InvalidEnvelope" in dead[poison.id]["error"]  # the contract's check, before any handler
    assert dead[""]["attempts"] == 1 and "InvalidEnvelope" in dead[""]["error"]
    assert store.dead_letters.message(dead[""]) == {"$where": "not an envelope"}
    assert store.decisions.get(poison.data["order_id"]) is None

    monkeypatch.setenv("CATALOG_MONGO_DB", settings.catalog_mongo_db)
    assert main(["deadletters", "list"]) == 0
    assert poison.id in capsys.readouterr().out
    broker.delete("catalog")
    worker.control.cancel_consumer("catalog")  # keep the replayed message in the queue
    assert main(["deadletters", "replay", dead[poison.id]["_id"]]) == 0
    assert "replayed 1" in capsys.readouterr().out
    assert [e["id"] for e in eventually(lambda: queued(broker, "catalog"))] == [poison.id]
    assert [d["_id"] for d in store.dead_letters.list()] == [dead[""]["_id"]]
