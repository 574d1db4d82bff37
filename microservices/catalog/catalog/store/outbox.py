"""The catalog's outbox, an :class:`msh_events.outbox.OutboxStore` on MongoDB: the announcements
its order decisions carry (collection ``order_decisions``, :mod:`catalog.store.decisions`).

Every event the catalog publishes announces a decision (``stock.reserved``, ``stock.rejected``),
so the decision document is its outbox entry: the write that records the decision also makes its
announcement pending, and there is no outbox document to keep in step (a separate outbox
collection cost a second write per order, ~0.6 ms of the MongoDB stand-in's CPU):

``{_id: order id, state, event: <envelope>, event_id, announced: pending | sent,
claimed_until, enqueued_at, claim, announced_at}``

Relays claim pending announcements one by one with ``find_one_and_update``, setting a lease
(``claimed_until``), so concurrent relays never take the same one; a relay that dies leaves its
lease to run out, and the next sweep takes it again. The sweep takes only announcements queued
(``enqueued_at``: decided, or asked again) a while ago; younger ones are the immediate relay's
(:data:`msh_events.outbox.SWEEP_MIN_AGE_SECONDS`). Times are epoch seconds and states are
strings: nx-27017 compares both reliably, unlike dates and nulls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection

from msh_events import Event

from .documents import utcnow

PENDING = "pending"
SENT = "sent"


def announcement(event: Event) -> dict[str, Any]:
    """The fields that make ``event`` a document's pending announcement (queued for the relays
    now), written in the same update as the change it announces."""
    return {
        "event": event.to_dict(),
        "event_id": event.id,
        "announced": PENDING,
        "claimed_until": 0.0,
        "enqueued_at": time.time(),
    }


class MongoOutboxStore:
    def __init__(self, collection: Collection, claim_seconds: float = 30.0) -> None:
        self.collection = collection
        self.claim_seconds = claim_seconds

    def resend(self, document_id: str, event: Event) -> bool:
        """Send ``event``, the announcement of document ``document_id``, once more (same event
        id: consumers that had it skip it), e.g. when orders asks again about a stale order.
        Written whole, so a decision recorded before decisions were the outbox is announced too.
        False if the document announces nothing."""
        again = self.collection.update_one(
            {"_id": document_id, "event": {"$exists": True}}, {"$set": announcement(event)}
        )
        return again.matched_count == 1

    @contextmanager
    def claim(self, limit: int, *, min_age_seconds: float = 0.0) -> Iterator[Sequence[Event]]:
        token = uuid.uuid4().hex
        now = time.time()
        claimable: dict = {"announced": PENDING, "claimed_until": {"$lt": now}}
        if min_age_seconds:
            claimable["enqueued_at"] = {"$lte": now - min_age_seconds}
        claimed = []
        for _ in range(limit):
            doc = self.collection.find_one_and_update(
                claimable,
                {"$set": {"claimed_until": now + self.claim_seconds, "claim": token}},
                projection={"event": 1},
                sort=[("enqueued_at", 1), ("_id", 1)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(doc)
        events = [Event.from_dict(doc["event"]) for doc in claimed]
        try:
            yield events
        except BaseException:
            # Give them back at once rather than when the lease runs out.
            ids = [doc["_id"] for doc in claimed]
            self.collection.update_many(
                {"_id": {"$in": ids}, "claim": token}, {"$set": {"claimed_until": 0.0}}
            )
            raise
        if events:
            self.mark_sent([event.id for event in events])

    def mark_sent(self, ids: Sequence[str]) -> None:
        """Mark the announcements with these event ids sent."""
        self.collection.update_many(
            {"event_id": {"$in": list(ids)}, "announced": PENDING},
            {"$set": {"announced": SENT, "announced_at": utcnow()}},
        )

    def backlog(self) -> int:
        return self.collection.count_documents({"announced": PENDING})


def adopt_old_outbox(old: Collection, outbox: MongoOutboxStore) -> int:
    """Queue again, on their decisions, the events still pending in the outbox collection that
    versions before decisions carried their announcements kept; then drop that collection.
    Idempotent, run by ``setup``. Returns how many were queued."""
    adopted = 0
    for doc in old.find({"state": PENDING}, {"envelope": 1}):
        event = Event.from_dict(doc["envelope"])
        outbox.collection.update_one(
            {"_id": str(event.data["order_id"])}, {"$set": announcement(event)}
        )
        adopted += 1
    old.drop()
    return adopted
