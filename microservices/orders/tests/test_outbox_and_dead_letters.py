"""The outbox on PostgreSQL, the relay, the pending sweeper, and dead letters with a real
Celery worker."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from devstack.workers import failing_worker as worker_failing_always
from msh_events import Event
from msh_events.outbox import OutboxRelay
from msh_events.publisher import CeleryPublisher
from msh_events.relay import BackgroundRelay
from orders.__main__ import main as cli
from orders.bus import service_events
from orders.domain.pricing import PricedLine, PricedOrder
from orders.domain.status import OrderStatus
from orders.events import publish
from orders.settings import Settings
from orders.store import orders as order_store
from orders.store.events import SqlDeadLetterStore, SqlOutboxStore, SqlProcessedEventStore
from orders.store.models import DeadLetter
from orders.sweeper import republish_stale_pending


def place(db) -> uuid.UUID:
    priced = PricedOrder(lines=(PricedLine("p9", "Vase", Decimal("12"), 3),), currency="EUR")
    with db.transaction() as session:
        order_id = order_store.insert_order(session, user_id=uuid.uuid4(), priced=priced).id
        publish(session, "order.placed", {"order_id": str(order_id)})
    return order_id


def test_an_event_written_in_a_rolled_back_transaction_never_exists(db, outbox):
    def change_that_fails() -> None:
        with db.transaction() as session:
            publish(session, "order.cancelled", {"order_id": "x"})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert outbox() == []


def test_the_relay_sends_each_event_to_its_consumers_once_and_marks_it_sent(
    db, settings, queued, outbox
):
    with db.transaction() as session:
        confirmed = publish(session, "order.confirmed", {"order_id": "1"})
        cancelled = publish(session, "order.cancelled", {"order_id": "2"})
    relay = service_events(settings, lambda: db).relay()
    assert SqlOutboxStore(db).backlog() == 2
    assert relay.relay_pending() == 2
    assert relay.relay_pending() == 0
    assert SqlOutboxStore(db).backlog() == 0
    assert queued("mainapp") == [confirmed.to_dict(), cancelled.to_dict()]
    assert queued("catalog") == [cancelled.to_dict()]  # order.cancelled goes to both


def test_concurrent_relays_never_send_an_event_twice(db, settings, queued):
    with db.transaction() as session:
        for n in range(200):
            publish(session, "order.cancelled", {"order_id": str(n)})
    relays = [service_events(settings, lambda: db).relay() for _ in range(4)]
    for relay in relays:
        relay.batch_size = 10
    threads = [threading.Thread(target=relay.relay_pending) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [envelope["id"] for envelope in queued("catalog")]
    assert len(ids) == len(set(ids)) == 200


def test_a_commit_hands_its_events_to_the_background_relay_which_sends_and_marks_them(
    db, settings, queued, wait_until, outbox
):
    background = BackgroundRelay(service_events(settings, lambda: db).relay())
    db.on_outbox_commit = background.kick
    try:
        order_id = place(db)
        wait_until(lambda: SqlOutboxStore(db).backlog() == 0)
    finally:
        background.stop()
        db.on_outbox_commit = None
    [placed] = outbox("order.placed")
    assert placed["data"]["order_id"] == str(order_id)
    assert queued("catalog") == [placed]


class CountedMarks(SqlOutboxStore):
    """The real store, counting its mark-sent writes."""

    marks: list[int]

    def mark_sent(self, ids):
        self.marks.append(len(ids))
        super().mark_sent(ids)


def test_the_background_relay_sends_at_once_and_marks_a_burst_sent_in_one_write(
    db, settings, queued, wait_until
):
    store = CountedMarks(db)
    store.marks = []
    events = service_events(settings, lambda: db)
    background = BackgroundRelay(OutboxRelay(store, events.publisher()))
    db.on_outbox_commit = background.kick
    try:
        orders = [place(db) for _ in range(20)]
        wait_until(lambda: len(queued("catalog")) == 20)  # sent as each commit hands them over
        wait_until(lambda: store.backlog() == 0)
    finally:
        background.stop()
        db.on_outbox_commit = None
    assert sorted(e["data"]["order_id"] for e in queued("catalog")) == sorted(map(str, orders))
    assert sum(store.marks) == 20
    assert len(store.marks) < 20  # batched: far fewer writes than events


def test_the_sweep_leaves_young_events_to_the_immediate_relay(db, settings, queued, wait_until):
    relay = service_events(settings, lambda: db).relay()
    relay.sweep_min_age_seconds = 0.5
    place(db)
    assert relay.sweep() == 0  # just committed: the committing process's relay sends it
    assert queued("catalog") == []
    wait_until(lambda: relay.sweep() == 1)  # left pending past the minimum age: the sweep's
    assert len(queued("catalog")) == 1


def test_committed_events_the_broker_refused_stay_pending_for_the_sweep(
    db, settings, queued, wait_until, caplog
):
    down = Settings(
        **{**settings.model_dump(), "redis_url": "redis://127.0.0.1:9/0", "celery_broker_url": None}
    )
    background = BackgroundRelay(service_events(down, lambda: db).relay())
    db.on_outbox_commit = background.kick
    try:
        place(db)
        wait_until(lambda: "the sweep will retry" in caplog.text, timeout=30)
    finally:
        background.stop()
        db.on_outbox_commit = None
    assert SqlOutboxStore(db).backlog() == 1
    assert service_events(settings, lambda: db).relay().relay_pending() == 1
    assert len(queued("catalog")) == 1


def test_the_sweeper_republishes_order_placed_for_stale_pending_orders_only(db, settings, outbox):
    stale, fresh, settled = place(db), place(db), place(db)
    with db.transaction() as session:
        order_store.transition(session, settled, OrderStatus.CONFIRMED)
        session.execute(
            text(
                "UPDATE orders SET placed_published_at = now() - interval '10 minutes' "
                "WHERE id IN (:a, :b)"
            ),
            {"a": stale, "b": settled},
        )
    quick = Settings(
        **{
            **settings.model_dump(),
            "orders_pending_republish_seconds": 60,
            "orders_pending_republish_max": 2,
        }
    )

    assert republish_stale_pending(db, quick) == 1
    republished = [e for e in outbox("order.placed") if e["data"]["order_id"] == str(stale)]
    assert len(republished) == 2  # the original and the new one: a new event, the same order
    assert republished[1]["id"] != republished[0]["id"]
    assert republished[1]["data"] == {
        "order_id": str(stale),
        "lines": [{"product_id": "p9", "quantity": 3}],
    }
    assert republish_stale_pending(db, quick) == 0  # just re-published: not stale any more
    with db.transaction() as session:
        order = order_store.get_order(session, stale)
        assert order.republish_count == 1
    age_out = text(
        "UPDATE orders SET placed_published_at = now() - interval '1 hour' WHERE id = :id"
    )
    with db.transaction() as session:
        session.execute(age_out, {"id": stale})
    assert republish_stale_pending(db, quick) == 1
    with db.transaction() as session:
        session.execute(age_out, {"id": stale})
    assert republish_stale_pending(db, quick) == 0  # the cap: an operator looks at it now
    with db.transaction() as session:
        assert order_store.count_stuck_pending(session, 2) == 1
        assert order_store.get_order(session, fresh).republish_count == 0


@pytest.fixture
def failing_worker(db, settings):
    with worker_failing_always(
        settings.broker_url, lambda: SqlProcessedEventStore(db), lambda: SqlDeadLetterStore(db)
    ) as worker:
        yield worker.app, worker.queue, worker.attempts


def dead_letter(db, event_id: str) -> DeadLetter | None:
    return next((d for d in SqlDeadLetterStore(db).pending(True) if d.event_id == event_id), None)


def test_a_poison_event_is_retried_dead_lettered_listed_and_replayed(
    failing_worker, db, wait_until, queued, capsys
):
    app, queue, attempts = failing_worker
    poison = Event(type="bad.event", data={"n": 1}, producer="test")
    CeleryPublisher(app).send(poison.to_dict(), queue)

    dead = wait_until(lambda: dead_letter(db, poison.id))
    assert attempts == [poison.id] * 3
    assert dead.attempts == 3 and "ValueError: poison" in dead.error
    assert dead.message == poison.to_dict()

    assert cli(["deadletters", "list"]) == 0
    listing = capsys.readouterr().out
    assert poison.id in listing and "bad.event" in listing and "ValueError: poison" in listing

    assert cli(["deadletters", "replay", str(dead.id)]) == 0
    assert "replayed 1 message(s)" in capsys.readouterr().out
    assert [e["id"] for e in queued("orders")] == [poison.id]
    assert dead_letter(db, poison.id).replayed_at is not None
    assert cli(["deadletters", "replay", "--all"]) == 0  # nothing pending any more
    assert "replayed 0 message(s)" in capsys.readouterr().out


def test_a_message_that_is_not_an_envelope_is_dead_lettered_at_once(failing_worker, db, wait_until):
    app, queue, attempts = failing_worker
    CeleryPublisher(app).send({"hello": "world"}, queue)
    dead = wait_until(lambda: next(iter(SqlDeadLetterStore(db).pending()), None))
    assert dead.attempts == 1 and "InvalidEnvelope" in dead.error
    assert attempts == []
