"""The catalog as a consumer of the event contract: every event its queue receives, in any
shape its schema allows, is handled; one that breaks its schema is dead-lettered at once,
unapplied."""

from __future__ import annotations

import pytest
from hypothesis import given

from catalog.bus import service_events
from catalog.settings import SERVICE
from devstack.contract import broken_events, contract_settings, run_event_task, valid_events
from msh_events import Event
from msh_events.consumer import Outcome


@pytest.fixture
def events(settings, store):
    return service_events(settings, lambda: store)


@pytest.fixture
def worker(events):
    return events.worker()


@contract_settings
@given(event=valid_events(SERVICE))
def test_every_event_in_any_shape_its_schema_allows_is_handled(events, event: Event):
    assert events.consumer().handle(event) is Outcome.HANDLED


@contract_settings
@given(event=broken_events(SERVICE))
def test_an_event_that_breaks_its_schema_is_dead_lettered_at_once(worker, store, event: Event):
    assert run_event_task(worker, event.to_dict()) == "dead-lettered"
    [dead] = [d for d in store.dead_letters.list() if d["event_id"] == event.id]
    assert dead["attempts"] == 1 and "InvalidEnvelope" in dead["error"]
    assert store.db.order_decisions.count_documents({}) == 0
