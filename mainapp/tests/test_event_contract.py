"""mainapp as a consumer of the event contract: every event its queue receives, in any shape its
schema allows, is handled; one that breaks its schema is dead-lettered at once, unapplied."""

from __future__ import annotations

import pytest
from django.conf import settings
from hypothesis import given

from devstack.contract import broken_events, contract_settings, run_event_task, valid_events
from msh_events import Event
from msh_events.consumer import Outcome
from msh_events.contrib.django.models import DeadLetter, ProcessedEvent
from msh_events.contrib.django.service import consumer, service_events

QUEUE = settings.EVENTS_SERVICE


@pytest.fixture(scope="module")
def worker():
    return service_events().worker()


@pytest.mark.django_db
@contract_settings
@given(event=valid_events(QUEUE))
def test_every_event_in_any_shape_its_schema_allows_is_handled(event: Event):
    assert consumer().handle(event) is Outcome.HANDLED


@pytest.mark.django_db
@contract_settings
@given(event=broken_events(QUEUE))
def test_an_event_that_breaks_its_schema_is_dead_lettered_at_once(worker, event: Event):
    assert run_event_task(worker, event.to_dict()) == "dead-lettered"
    dead = DeadLetter.objects.get(event_id=event.id)
    assert dead.attempts == 1 and "InvalidEnvelope" in dead.error
    assert not ProcessedEvent.objects.filter(event_id=event.id).exists()
