"""The outbox, the idempotent consumer and dead letters on mainapp's real PostgreSQL and Redis,
with a real Celery worker where delivery matters."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from devstack.waiting import eventually, queued
from devstack.workers import failing_worker as worker_failing_always
from msh_events import Event
from msh_events.consumer import IdempotentConsumer, Outcome
from msh_events.contrib.django.models import DeadLetter, OutboxEvent, ProcessedEvent
from msh_events.contrib.django.outbox import publish
from msh_events.contrib.django.service import service_events
from msh_events.contrib.django.stores import DjangoDeadLetterStore, DjangoProcessedEventStore


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.mark.django_db(transaction=True)
def test_an_event_published_in_a_rolled_back_transaction_never_exists(broker):
    def change_that_fails() -> None:
        with transaction.atomic():
            publish("user.deleted", {"user_id": "1"})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not OutboxEvent.objects.exists()
    assert queued(broker, "orders") == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_is_relayed_to_every_consumer_queue_and_marked_sent(broker):
    with transaction.atomic():
        event = publish("user.deleted", {"user_id": "7"})
    # relayed right after commit, by the process's background relay
    eventually(lambda: OutboxEvent.objects.get(pk=event.id).sent_at is not None)
    [envelope] = queued(broker, "orders")
    assert envelope == event.to_dict()
    assert queued(broker, "catalog") == []  # not a subscriber


@pytest.mark.django_db(transaction=True)
def test_the_sweep_relays_what_a_broker_outage_left_behind(broker):
    # Written without the after-commit relay, as if the broker had been down at commit time.
    event = Event(type="user.deleted", data={"user_id": "8"}, producer="mainapp")
    OutboxEvent.objects.create(id=event.id, type=event.type, envelope=event.to_dict())
    assert service_events().relay().relay_pending() == 1
    assert OutboxEvent.objects.get(pk=event.id).sent_at is not None
    assert service_events().relay().relay_pending() == 0
    assert [e["id"] for e in queued(broker, "orders")] == [event.id]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_outlives_a_connection_the_server_dropped(broker):
    """A PostgreSQL restart ends every connection; the relay's thread must not keep its dead
    one."""
    relay = service_events().relay()
    assert relay.relay_pending() == 0  # the thread's connection is open now
    with (
        connection.cursor() as cursor,
        psycopg.connect(**connection.get_connection_params()) as admin,
    ):
        cursor.execute("SELECT pg_backend_pid()")
        admin.execute("SELECT pg_terminate_backend(%s)", cursor.fetchone())
    event = Event(type="user.deleted", data={"user_id": "9"}, producer="mainapp")
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute(
            "INSERT INTO eventbus_outboxevent (id, type, envelope, created_at) "
            "VALUES (%s, %s, %s, now())",
            (event.id, event.type, Jsonb(event.to_dict())),
        )
    assert relay.relay_pending() == 1
    assert [e["id"] for e in queued(broker, "orders")] == [event.id]


@pytest.mark.django_db(transaction=True)
def test_the_consumer_applies_an_event_once_however_often_it_arrives():
    applied: list[str] = []
    consumer = IdempotentConsumer(
        DjangoProcessedEventStore(), {"thing.happened": lambda e: applied.append(e.id)}
    )
    event = Event(type="thing.happened", data={}, producer="test")
    assert consumer.handle(event) is Outcome.HANDLED
    assert consumer.handle(event) is Outcome.DUPLICATE
    assert applied == [event.id]
    assert ProcessedEvent.objects.filter(event_id=event.id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_handler_records_nothing_so_the_retry_can_apply_it():
    calls = []

    def flaky(event: Event) -> None:
        calls.append(event.id)
        OutboxEvent.objects.create(id=uuid.uuid4(), type="side.effect", envelope={})
        if len(calls) == 1:
            raise ConnectionError("transient")

    consumer = IdempotentConsumer(DjangoProcessedEventStore(), {"thing.happened": flaky})
    event = Event(type="thing.happened", data={}, producer="test")
    with pytest.raises(ConnectionError):
        consumer.handle(event)
    assert not ProcessedEvent.objects.exists()
    assert not OutboxEvent.objects.filter(type="side.effect").exists()  # rolled back together
    assert consumer.handle(event) is Outcome.HANDLED
    assert OutboxEvent.objects.filter(type="side.effect").count() == 1


@pytest.fixture
def failing_worker(broker):
    with worker_failing_always(
        settings.CELERY_BROKER_URL, DjangoProcessedEventStore, DjangoDeadLetterStore
    ) as worker:
        yield worker.app, worker.queue, worker.attempts


@pytest.mark.django_db(transaction=True)
def test_a_poison_event_is_retried_then_dead_lettered_and_can_be_replayed(failing_worker, broker):
    app, queue, attempts = failing_worker
    event = Event(type="bad.event", data={"n": 1}, producer="test")
    app.send_task("msh.events.handle", args=[event.to_dict()], queue=queue)

    dead = eventually(lambda: DeadLetter.objects.filter(event_id=event.id).first())
    assert attempts == [event.id] * 3  # first try + 2 retries
    assert dead.attempts == 3
    assert "ValueError: poison" in dead.error
    assert dead.message == event.to_dict()
    assert not ProcessedEvent.objects.filter(event_id=event.id).exists()

    call_command("deadletters", "replay", str(dead.pk))
    dead.refresh_from_db()
    assert dead.replayed_at is not None
    assert [e["id"] for e in queued(broker, "mainapp")] == [event.id]


@pytest.mark.django_db(transaction=True)
def test_a_message_that_is_not_an_envelope_is_dead_lettered_at_once(failing_worker):
    app, queue, attempts = failing_worker
    app.send_task("msh.events.handle", args=[{"hello": "world"}], queue=queue)
    dead = eventually(lambda: DeadLetter.objects.filter(message={"hello": "world"}).first())
    assert dead.attempts == 1
    assert "InvalidEnvelope" in dead.error
    assert attempts == []


@pytest.mark.django_db(transaction=True)
def test_deadletters_list_shows_pending_ones(capsys):
    DeadLetter.objects.create(
        message={"x": 1}, event_id="abc", type="t.x", error="boom\nValueError: x"
    )
    call_command("deadletters", "list")
    out = capsys.readouterr().out
    assert "abc" in out and "t.x" in out and "ValueError: x" in out
