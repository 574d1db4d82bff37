"""The catalog's outbox collection, an :class:`msh_events.outbox.OutboxStore` on MongoDB.

``{_id: event id, type, envelope, state: pending | sent, claimed_until, enqueued_at, ...}``

An event is added with an upsert on its id, and event ids of the catalog's decisions are derived
from the order id (see :mod:`catalog.events`): a handler that runs again after a crash adds
nothing new. Relays claim pending events one by one with ``find_one_and_update``, setting a
lease (``claimed_until``), so concurrent relays never take the same event; a relay that dies
leaves its lease to run out, and the next sweep takes the event again. The sweep takes only
events queued (``enqueued_at``: added, or re-sent) a while ago; younger ones are the immediate
relay's (:data:`msh_events.outbox.SWEEP_MIN_AGE_SECONDS`). Times are epoch seconds
and states are strings: nx-27017 compares both reliably, unlike dates and nulls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pymongo import ReturnDocument
from pymongo.collection import Collection

from msh_events import Event

from .documents import utcnow

PENDING = "pending"
SENT = "sent"


class MongoOutboxStore:
    def __init__(self, collection: Collection, claim_seconds: float = 30.0) -> None:
        self.collection = collection
        self.claim_seconds = claim_seconds

    def add(self, event: Event) -> bool:
        """Add ``event`` unless an event with its id is there; True if added now."""
        result = self.collection.update_one(
            {"_id": event.id},
            {
                "$setOnInsert": {
                    **self._document(event),
                    "state": PENDING,
                    "claimed_until": 0.0,
                    "enqueued_at": time.time(),
                }
            },
            upsert=True,
        )
        return result.upserted_id is not None

    def resend(self, event: Event) -> None:
        """Add ``event``, or send it once more if it was sent (same id: consumers that had it
        skip it). For a producer asking again, e.g. orders re-publishing a stale order.placed."""
        self.collection.update_one(
            {"_id": event.id},
            {
                "$setOnInsert": self._document(event),
                # enqueued again now: the sweep leaves it to the immediate relay a while
                "$set": {"state": PENDING, "claimed_until": 0.0, "enqueued_at": time.time()},
            },
            upsert=True,
        )

    @staticmethod
    def _document(event: Event) -> dict:
        """The fields an event keeps from its first insert (``enqueued_at`` is set apart: a
        re-sent event is enqueued again)."""
        return {"type": event.type, "envelope": event.to_dict(), "created_at": utcnow()}

    @contextmanager
    def claim(self, limit: int, *, min_age_seconds: float = 0.0) -> Iterator[Sequence[Event]]:
        token = uuid.uuid4().hex
        now = time.time()
        claimable: dict = {"state": PENDING, "claimed_until": {"$lt": now}}
        if min_age_seconds:
            claimable["enqueued_at"] = {"$lte": now - min_age_seconds}
        claimed = []
        for _ in range(limit):
            doc = self.collection.find_one_and_update(
                claimable,
                {"$set": {"claimed_until": now + self.claim_seconds, "claim": token}},
                sort=[("enqueued_at", 1), ("_id", 1)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(doc)
        ids = [doc["_id"] for doc in claimed]
        try:
            yield [Event.from_dict(doc["envelope"]) for doc in claimed]
        except BaseException:
            # Give them back at once rather than when the lease runs out.
            self.collection.update_many(
                {"_id": {"$in": ids}, "claim": token}, {"$set": {"claimed_until": 0.0}}
            )
            raise
        if ids:
            self.mark_sent(ids)

    def mark_sent(self, ids: Sequence[str]) -> None:
        self.collection.update_many(
            {"_id": {"$in": list(ids)}, "state": PENDING},
            {"$set": {"state": SENT, "sent_at": utcnow()}},
        )

    def backlog(self) -> int:
        return self.collection.count_documents({"state": PENDING})
