"""The catalog's side of each order's saga: one document per order id, which is first the
order's hold while a delivery decides it, then the decision.

``{_id: order id, state: deciding, token, until}`` while held;
``{_id: order id, state: reserved | rejected | cancelled, event: <envelope>, cause, ...}`` after,
the event announcing the decision kept and relayed as the catalog's outbox entry
(:mod:`catalog.store.outbox`).

Without transactions, this one document is what keeps the outcome stable:

* **one delivery decides at a time.** :meth:`DecisionStore.take` inserts the document (the unique
  ``_id`` lets one holder in); the others wait until it is decided. A holder that dies leaves
  its hold to run out (``until``, epoch seconds), and the next delivery takes it over.
* **the first decision stands, and ``cancelled`` is final.** A redelivered ``order.placed``
  finds the decision and publishes the same event again instead of deciding anew (stock may
  have changed since); an ``order.cancelled`` that overtakes its ``order.placed`` leaves a
  ``cancelled`` tombstone, so the late ``order.placed`` reserves nothing.

Taking the order and recording its decision with its announcement are the document's own writes:
deciding an order costs two round trips, where a separate lease, decision and outbox entry cost
five.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from msh_events import Event

from .documents import utcnow
from .outbox import announcement


class State(StrEnum):
    DECIDING = "deciding"
    RESERVED = "reserved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


DECIDED = [State.RESERVED, State.REJECTED]


class DecisionBusy(RuntimeError):
    """The order stayed held for longer than a hold lasts (the caller is retried)."""


@dataclass(frozen=True, slots=True)
class Hold:
    """What :meth:`DecisionStore.take` returns: ``token`` when the caller now holds the order
    (no decision yet), else the ``decision`` that stands. ``first``: no delivery held the order
    before, so nothing was reserved for it yet."""

    order_id: str
    token: str | None = None
    decision: dict[str, Any] | None = None
    first: bool = False


class DecisionStore:
    def __init__(
        self, collection: Collection, seconds: float = 30.0, poll_interval: float = 0.05
    ) -> None:
        self.collection = collection
        self.seconds = seconds
        self.poll_interval = poll_interval

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": order_id})

    def take(self, order_id: str) -> Hold:
        """Hold the order for deciding, or return its decision; waits while another delivery
        holds it."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.seconds + 5
        while True:
            if self._insert_once(order_id, {"state": str(State.DECIDING), **self._hold(token)}):
                return Hold(order_id, token=token, first=True)
            current = self.get(order_id)
            if current is not None and current["state"] != State.DECIDING:
                return Hold(order_id, decision=current)
            if current is not None and self._take_over(current, {"$set": self._hold(token)}):
                return Hold(order_id, token=token)  # its holder died
            self._wait(order_id, deadline)

    def decide(self, hold: Hold, state: State, event: Event, cause: str) -> dict[str, Any] | None:
        """Record the decision, with ``event`` its pending announcement (:mod:`.outbox`), and let
        the order go. Returns the decision that stands: ours,
        or, if the hold ran out and another delivery took the order meanwhile, whatever that
        one decided (None while it is still deciding: it answers)."""
        fields = {"state": str(state), "cause": cause, **announcement(event)}
        done = self.collection.update_one(
            {"_id": hold.order_id, "token": hold.token, "state": State.DECIDING},
            {"$set": {**fields, "decided_at": utcnow()}, "$unset": {"token": "", "until": ""}},
        )
        if done.modified_count:
            return {"_id": hold.order_id, **fields}  # ours stands: no need to read it back
        current = self.get(hold.order_id)
        return None if current is None or current["state"] == State.DECIDING else current

    def let_go(self, hold: Hold) -> None:
        """Give the order back undecided (the delivery failed): its hold runs out now, and the
        retry takes it over at once (not as a first attempt: lines may be held)."""
        self.collection.update_one(
            {"_id": hold.order_id, "token": hold.token, "state": State.DECIDING},
            {"$set": {"until": 0.0}},
        )

    def cancel(self, order_id: str) -> State | None:
        """Mark the order cancelled, waiting for a delivery deciding it; return the decision it
        had (None: nothing was decided)."""
        deadline = time.monotonic() + self.seconds + 5
        while True:
            cancelled = {"state": str(State.CANCELLED), "cancelled_at": utcnow()}
            previous = self.collection.find_one_and_update(
                {"_id": order_id, "state": {"$in": DECIDED}}, {"$set": cancelled}
            )
            if previous is not None:
                return State(previous["state"])
            if self._insert_once(order_id, cancelled):
                return None
            current = self.get(order_id)
            if current is not None and current["state"] == State.CANCELLED:
                return State.CANCELLED
            take_over = {"$set": cancelled, "$unset": {"token": "", "until": ""}}
            if current is not None and self._take_over(current, take_over):
                return None  # its holder died; what it held is released by the caller
            if current is not None and current["state"] == State.DECIDING:
                self._wait(order_id, deadline)

    def _hold(self, token: str) -> dict[str, Any]:
        return {"token": token, "until": time.time() + self.seconds}

    def _take_over(self, current: dict[str, Any], update: dict[str, Any]) -> bool:
        """Apply ``update`` to a hold that has run out (its holder died); True if applied."""
        if current["state"] != State.DECIDING or current["until"] >= time.time():
            return False
        taken = self.collection.update_one(
            {"_id": current["_id"], "state": State.DECIDING, "token": current["token"]}, update
        )
        return taken.modified_count == 1

    def _wait(self, order_id: str, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise DecisionBusy(f"order {order_id} is still being decided elsewhere")
        time.sleep(self.poll_interval)

    def _insert_once(self, order_id: str, fields: dict[str, Any]) -> bool:
        """Insert the order's document if absent; True if this call inserted it."""
        try:
            self.collection.insert_one({"_id": order_id, **fields})
        except DuplicateKeyError:
            return False
        return True
