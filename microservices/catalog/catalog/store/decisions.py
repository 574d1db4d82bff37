"""The catalog's side of each order's saga: one document per order id.

``{_id: order id, state: reserved | rejected | cancelled, event: <envelope>, ...}``

The first decision about an order wins (an upsert with ``$setOnInsert``), and ``cancelled`` is
final. That is what keeps the outcome stable without transactions:

* a redelivered ``order.placed`` finds the decision and publishes the same event again instead
  of deciding anew (stock may have changed since);
* an ``order.cancelled`` that overtakes its ``order.placed`` leaves a ``cancelled`` tombstone,
  so the late ``order.placed`` reserves nothing for a cancelled order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from msh_events import Event

from .documents import utcnow


class State(StrEnum):
    RESERVED = "reserved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class DecisionStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": order_id})

    def decide(self, order_id: str, state: State, event: Event) -> dict[str, Any]:
        """Record ``state`` unless the order already has a decision; return the one that
        stands (ours, or the earlier one)."""
        fields = {"state": str(state), "event": event.to_dict()}
        if self._insert_once(order_id, fields):
            return {"_id": order_id, **fields}  # ours stands: no need to read it back
        decision = self.collection.find_one({"_id": order_id})
        assert decision is not None  # inserted before
        return decision

    def cancel(self, order_id: str) -> State | None:
        """Mark the order cancelled; return the state it had (None: nothing was decided)."""
        for _ in range(3):
            previous = self.collection.find_one_and_update(
                {"_id": order_id, "state": {"$in": [State.RESERVED, State.REJECTED]}},
                {"$set": {"state": str(State.CANCELLED), "cancelled_at": utcnow()}},
            )
            if previous is not None:
                return State(previous["state"])
            if self._insert_once(order_id, {"state": str(State.CANCELLED)}):
                return None
            current = self.get(order_id)
            if current is not None and current["state"] == State.CANCELLED:
                return State.CANCELLED
        raise RuntimeError(f"order {order_id}: decision kept changing")

    def _insert_once(self, order_id: str, fields: dict[str, Any]) -> bool:
        """Insert the order's document if absent; True if this call inserted it."""
        try:
            result = self.collection.update_one(
                {"_id": order_id},
                {"$setOnInsert": {**fields, "decided_at": utcnow()}},
                upsert=True,
            )
        except DuplicateKeyError:  # a concurrent upsert of the same id inserted first
            return False
        return result.upserted_id is not None
