"""Processed events, an :class:`msh_events.consumer.ProcessedEventStore` on MongoDB.

``{_id: event id, type, state: "done", handled_at}``

mainapp records an event id in the same transaction as the event's effect. MongoDB here has no
multi-document transaction (and nx-27017 no isolation at all), so the guarantee is built
differently:

* **the effect is idempotent by construction** (reservations keyed by order id, first decision
  wins, outbox ids derived from the order): applying an event twice changes nothing the second
  time. That is what makes a redelivery safe.
* the record is written **after** the effect: it saves the work of a redelivery and tells
  operators what was handled. If the process dies between effect and record, the event runs
  again, harmlessly.
* two deliveries of one event (a relay that published twice) are kept from running side by
  side by the handlers themselves: each holds a lease on its order (:mod:`catalog.events`), so
  the second waits, then finds the order decided and says the same thing again. No lease on the
  event id as well: it would cost three more round trips per event for no further guarantee.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.collection import Collection

from msh_events import Event

from .documents import utcnow

DONE = "done"


class MongoProcessedEventStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    @contextmanager
    def first_time(self, event: Event) -> Iterator[bool]:
        if self.handled(event.id):
            yield False
            return
        yield True  # if the handler raises, nothing is recorded and a retry applies it
        self.collection.update_one(
            {"_id": event.id},
            {"$set": {"type": event.type, "state": DONE, "handled_at": utcnow()}},
            upsert=True,
        )

    def handled(self, event_id: str) -> bool:
        return self.collection.find_one({"_id": event_id, "state": DONE}, {"_id": 1}) is not None
