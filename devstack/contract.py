"""Consumer contract tests, the same in every service: the events a service's queue receives
(``msh_events.topology``) as generated from their schemas (``msh_events.contract``), valid or
broken, as envelopes ready to handle or to send through the service's event task."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Celery
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from msh_events import Event
from msh_events.celery_app import EVENT_TASK_NAME
from msh_events.contract import consumed_by, schema_of
from msh_events.topology import PRODUCERS

# Handlers touch real stores: fewer examples than hypothesis' default, no per-example deadline,
# and the service's function-scoped store fixtures are fine to share between examples.
contract_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _envelope(key: tuple[str, int], data: dict[str, Any]) -> Event:
    event_type, version = key
    return Event(type=event_type, version=version, data=data, producer=PRODUCERS[event_type])


# hypothesis-jsonschema leaves formats it does not know unchecked; the contract uses this one.
FORMATS = {"uuid": st.uuids().map(str)}


def data_of(key: tuple[str, int]) -> st.SearchStrategy[dict[str, Any]]:
    """The event's data: its schema is an object, so every sample is a dict."""
    return from_schema(schema_of(*key), custom_formats=FORMATS).filter(
        lambda value: isinstance(value, dict)
    )  # type: ignore[return-value]  # the filter narrows what mypy cannot


def valid_events(queue: str) -> st.SearchStrategy[Event]:
    """Any event ``queue`` receives, with any data its schema allows (extra fields included)."""
    return st.one_of([data_of(key).map(partial(_envelope, key)) for key in consumed_by(queue)])


# A value no field of any event accepts: every field is a string, a number or a list.
_WRONG = {"$where": "1"}


@st.composite
def broken_events(draw: st.DrawFn, queue: str) -> Event:
    """An event ``queue`` receives whose data breaks its schema: a required field missing, or
    one of the wrong type."""
    key = draw(st.sampled_from(consumed_by(queue)))
    data = dict(draw(data_of(key)))
    field = draw(st.sampled_from(schema_of(*key)["required"]))
    if draw(st.booleans()):
        del data[field]
    else:
        data[field] = _WRONG
    return _envelope(key, data)


def run_event_task(worker: Celery, message: Any) -> str:
    """Run a service's real event task (``ServiceEvents.worker()``) on ``message`` here and now
    (Celery's ``apply``), with its real consumer and dead-letter store; returns the outcome."""
    return str(worker.tasks[EVENT_TASK_NAME].apply(args=[message]).get())
