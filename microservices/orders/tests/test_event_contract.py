"""orders as a consumer of the event contract: every event its queue receives, in any shape its
schema allows, is handled; one that breaks its schema is dead-lettered at once, unapplied."""

from __future__ import annotations

import pytest
from hypothesis import given

from devstack.contract import broken_events, contract_settings, run_event_task, valid_events
from msh_events import Event
from msh_events.consumer import Outcome
from orders.bus import service_events
from orders.events import QUEUE, make_consumer
from orders.store.events import SqlDeadLetterStore, SqlProcessedEventStore


@pytest.fixture
def worker(db, settings):
    return service_events(settings, lambda: db).worker()


@contract_settings
@given(event=valid_events(QUEUE))
def test_every_event_in_any_shape_its_schema_allows_is_handled(db, event: Event):
    assert make_consumer(db).handle(event) is Outcome.HANDLED


@contract_settings
@given(event=broken_events(QUEUE))
def test_an_event_that_breaks_its_schema_is_dead_lettered_at_once(db, worker, event: Event):
    assert run_event_task(worker, event.to_dict()) == "dead-lettered"
    [dead] = [d for d in SqlDeadLetterStore(db).pending() if d.event_id == event.id]
    assert dead.attempts == 1 and "InvalidEnvelope" in dead.error
    assert (dead.message["id"], dead.message["type"]) == (event.id, event.type)
    with SqlProcessedEventStore(db).first_time(event) as first:
        assert first  # never applied
