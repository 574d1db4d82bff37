"""Stock: the counters ``available``, ``reserved``, ``received`` in the product document, and one
document per order and product that holds stock (collection ``stock_holds``).

``{_id: "<order id>/<product id>", order_id, product_id, quantity, state}``, where ``state`` is
``reserving`` → ``held`` → ``releasing`` → ``released``.

The holds live in their own documents, not in the product's: a product's document would
otherwise gain an entry with every order and never lose it (an order stays cancellable), and
every reservation rewrites the whole document (measured on nx-27017: 0.6 ms with no holds, 3.3 ms
with 3,000; MongoDB also rewrites the document, and refuses one past 16 MB).

Without a multi-document transaction, a change of the counters and of the hold is made safe by a
marker in the product document, ``pending.<order id>``, written in the same atomic update as the
counters and removed once the hold document records the change:

1. the hold document says which change is under way (``reserving`` / ``releasing``, and a
   ``change`` token): one change at a time per order and product;
2. the counters change only if the product's marker for the order is not that token, and the
   marker is set to it in the same update: a change is applied at most once;
3. the hold document moves on (``held`` / ``released``), then the marker is removed.

A process that dies between steps leaves the hold in ``reserving`` or ``releasing``; whoever
comes next (the redelivered event) resumes it, and step 2 tells by the marker whether it had
happened. A release is waited for while it is under way, and resumed (by one taker) only once
it has been under way for :data:`RESUME_RELEASE_AFTER_SECONDS`: cancellations of one order are
not serialised by its decision, and one resumed while its own process is still at it could be
applied twice. One that dies between the two writes of step 3 leaves the marker of a recorded
change, which the next delivery for the order and product removes. So ``available + reserved ==
received`` holds at every moment, ``reserved`` equals the held quantities once nothing is under
way, and a product's document stays the size of its catalogue entry plus the changes in flight.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from catalog.domain.keys import check_key
from catalog.domain.reservation import Line, Reason, Shortfall

from .documents import utcnow
from .products import PUBLIC_PROJECTION

# A failed conditional update is diagnosed by a read; if the read says it would succeed now
# (stock moved in between), try again, a bounded number of times.
ATTEMPTS = 5

RESERVING, HELD, RELEASING, RELEASED = "reserving", "held", "releasing", "released"
# The change token of a hold's first change (later ones are random): see _reserve_first.
FIRST = "first"
# A release found under way is another process's to finish, unless it began this long ago
# (that process died): resumed while its process is still at it, it could be applied twice, the
# marker being gone once the hold records the change. As long as an order's decision is held
# (DecisionStore's seconds).
RESUME_RELEASE_AFTER_SECONDS = 30.0
RELEASE_POLL_SECONDS = 0.05  # how often a release under way is looked at again
_ABSENT = {"$exists": False}


def hold_id(order_id: str, product_id: str) -> str:
    return f"{check_key(order_id)}/{product_id}"


def pending_field(order_id: str) -> str:
    return f"pending.{check_key(order_id)}"


class StockStore:
    def __init__(
        self,
        products: Collection,
        holds: Collection,
        resume_release_after: float = RESUME_RELEASE_AFTER_SECONDS,
    ) -> None:
        self.products = products
        self.holds = holds
        self.resume_release_after = resume_release_after

    # -- reserving

    def reserve(self, order_id: str, line: Line, *, first: bool = False) -> Reason | None:
        """Hold ``line`` for ``order_id`` unless it holds it already; None when held after."""
        if first:
            return self._reserve_first(order_id, line)
        hold = self._begin_reserving(order_id, line)
        if hold["state"] == HELD:
            # held by this order already (a redelivered event); the process that recorded it
            # may have died before removing the product's marker (step 3)
            self._clear_marker(hold)
            return None
        reason = self._take(hold)
        if reason is not None:
            self.holds.delete_one({"_id": hold["_id"], "change": hold["change"]})
            return reason
        if not self._finish(hold, RESERVING, HELD):
            self._undo_take(hold)  # our hold was abandoned meanwhile (we outlived it)
        return None

    def _reserve_first(self, order_id: str, line: Line) -> Reason | None:
        """The order's first attempt: no hold and no marker of it can exist, so the counters
        change first and the hold is written after, as ``held`` (three round trips, not
        four). A process that dies in between leaves the marker ``FIRST``, which the resumed
        attempt's new hold names as its change (:meth:`_begin_reserving`): it finds the
        change made."""
        hold = _new_hold(order_id, line, HELD)
        reason = self._take(hold)
        if reason is not None:
            return reason
        try:
            self.holds.insert_one({**hold, "updated_at": utcnow()})
        except DuplicateKeyError:  # not a first attempt after all: undo, go the careful way
            self._undo_take(hold)
            return self.reserve(order_id, line)
        field = pending_field(order_id)
        self.products.update_one({"_id": line.product_id, field: FIRST}, {"$unset": {field: ""}})
        return None

    def _begin_reserving(self, order_id: str, line: Line) -> dict[str, Any]:
        """The hold in ``reserving`` (new, or resumed), or already ``held``."""
        key = hold_id(order_id, line.product_id)
        for _ in range(ATTEMPTS):
            hold = _new_hold(order_id, line, RESERVING)
            try:
                self.holds.insert_one({**hold, "updated_at": utcnow()})
                return hold
            except DuplicateKeyError:
                pass
            current = self.holds.find_one({"_id": key})
            if current is None:
                continue  # refused and deleted meanwhile: insert it again
            if current["state"] in (RESERVING, HELD):
                return current  # resumed, or held already
            if current["state"] == RELEASING:
                self.release(order_id, line.product_id)  # finish that first
            fields = {"quantity": line.quantity, "state": RESERVING, "change": uuid.uuid4().hex}
            again = self.holds.find_one_and_update(
                {"_id": key, "state": RELEASED},
                {"$set": {**fields, "updated_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )
            if again is not None:
                return again
        raise RuntimeError(f"hold {key} kept changing")

    def _take(self, hold: dict[str, Any]) -> Reason | None:
        """Step 2 of a reservation: the counters and the marker, if there is enough."""
        line = Line(hold["product_id"], hold["quantity"])
        field = pending_field(hold["order_id"])
        reason: Reason | None = None
        for _ in range(ATTEMPTS):
            done = self.products.find_one_and_update(
                {
                    "_id": line.product_id,
                    "active": True,
                    "available": {"$gte": line.quantity},
                    **_not_applied(field, hold["change"]),
                },
                {
                    "$inc": {"available": -line.quantity, "reserved": line.quantity},
                    "$set": {field: hold["change"]},
                },
                projection={"_id": 1},
            )
            if done is not None:
                return None
            current = self.products.find_one(
                {"_id": line.product_id}, {"available": 1, "active": 1, "pending": 1}
            )
            if current is not None and _marker(current, hold["order_id"]) == hold["change"]:
                return None  # taken before the process that began it died
            reason = _shortfall(line, current)
            if reason is not None:
                return reason
        return reason or Reason(line.product_id, line.quantity, 0, Shortfall.INSUFFICIENT_STOCK)

    def _undo_take(self, hold: dict[str, Any]) -> bool:
        """Give back what ``hold``'s change took, if its marker says it did; True if so."""
        quantity = hold["quantity"]
        field = pending_field(hold["order_id"])
        undone = self.products.find_one_and_update(
            {"_id": hold["product_id"], field: hold["change"]},
            {"$inc": {"available": quantity, "reserved": -quantity}, "$unset": {field: ""}},
            projection={"_id": 1},
        )
        return undone is not None

    def shortfall(self, line: Line) -> Reason | None:
        current = self.products.find_one({"_id": line.product_id}, {"available": 1, "active": 1})
        return _shortfall(line, current)

    # -- releasing

    def release(self, order_id: str, product_id: str) -> int:
        """Give back what ``order_id`` holds of one product, once; returns the quantity."""
        key = hold_id(order_id, product_id)
        releasing = {"state": RELEASING, "change": uuid.uuid4().hex, "releasing_since": time.time()}
        hold = self.holds.find_one_and_update(
            {"_id": key, "state": HELD},
            {"$set": {**releasing, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if hold is None:
            hold = self._once_no_release_is_under_way(self.holds.find_one({"_id": key}))
            if hold is None or hold["state"] == HELD:  # none, or held again meanwhile
                return 0
            if hold["state"] == RESERVING:
                return self._abandon(hold)
            if hold["state"] == RELEASED:
                # released before (a redelivered event); its process may have died before
                # removing the product's marker (step 3)
                self._clear_marker(hold)
                return 0
            # releasing, left by a process that died: ours to finish now
        quantity = int(hold["quantity"])
        field = pending_field(order_id)
        self.products.find_one_and_update(
            {"_id": product_id, **_not_applied(field, hold["change"])},
            {
                "$inc": {"available": quantity, "reserved": -quantity},
                "$set": {field: hold["change"]},
            },
            projection={"_id": 1},
        )
        self._finish(hold, RELEASING, RELEASED)
        return quantity

    def _once_no_release_is_under_way(self, hold: dict[str, Any] | None) -> dict[str, Any] | None:
        """``hold`` once no other process is releasing it: a release under way is waited for
        until it is recorded, or until it has been under way so long that its process must have
        died; then this call takes it over (one taker only) and gets it back ``releasing``."""
        while hold is not None and hold["state"] == RELEASING:
            since = hold.get("releasing_since")  # absent: begun by an earlier version
            if time.time() - (since or 0.0) >= self.resume_release_after:
                began = {"releasing_since": since} if since else {"releasing_since": _ABSENT}
                taken = self.holds.find_one_and_update(
                    {"_id": hold["_id"], "state": RELEASING, "change": hold["change"], **began},
                    {"$set": {"releasing_since": time.time()}},
                    return_document=ReturnDocument.AFTER,
                )
                if taken is not None:
                    return taken
            time.sleep(RELEASE_POLL_SECONDS)
            hold = self.holds.find_one({"_id": hold["_id"]})
        return hold

    def _abandon(self, hold: dict[str, Any]) -> int:
        """A reservation its deliverer left half done: give back what it took, if anything."""
        abandoned = self.holds.find_one_and_update(
            {"_id": hold["_id"], "state": RESERVING, "change": hold["change"]},
            {"$set": {"state": RELEASED, "updated_at": utcnow()}},
        )
        if abandoned is None or not self._undo_take(hold):
            return 0
        return int(hold["quantity"])

    def _finish(self, hold: dict[str, Any], was: str, now: str) -> bool:
        """Step 3: the hold records the change, then the product's marker goes. False if the
        hold had moved on (the change was abandoned meanwhile): the marker stays, for the
        caller to undo the change by it."""
        moved = self.holds.find_one_and_update(
            {"_id": hold["_id"], "state": was, "change": hold["change"]},
            {"$set": {"state": now, "updated_at": utcnow()}},
            projection={"_id": 1},
        )
        if moved is None:
            return False
        self._clear_marker(hold)
        return True

    def _clear_marker(self, hold: dict[str, Any]) -> None:
        """Remove the product's marker of ``hold``'s change, if it is still there."""
        field = pending_field(hold["order_id"])
        self.products.update_one(
            {"_id": hold["product_id"], field: hold["change"]}, {"$unset": {field: ""}}
        )

    def holders(self, order_id: str) -> list[str]:
        """Ids of the products that hold stock for ``order_id``, are changing it, or released
        it (a release whose process died before its last step is finished by the next)."""
        found = self.holds.find({"order_id": order_id}, {"product_id": 1})
        return [doc["product_id"] for doc in found]

    def release_order(self, order_id: str) -> dict[str, int]:
        """Release everything ``order_id`` holds; product id -> quantity released now."""
        released = {}
        for product_id in self.holders(order_id):
            quantity = self.release(order_id, product_id)
            if quantity:
                released[product_id] = quantity
        return released

    def adopt_embedded_holds(self) -> int:
        """Move holds kept inside product documents (``reservations: {<order id>: quantity}``,
        before holds had documents of their own) into ``stock_holds``; idempotent, run by
        ``setup``. Returns how many were moved."""
        moved = 0
        for product in self.products.find({"reservations": {"$exists": True}}, {"reservations": 1}):
            for order_id, quantity in (product.get("reservations") or {}).items():
                self.holds.update_one(
                    {"_id": hold_id(order_id, product["_id"])},
                    {
                        "$setOnInsert": {
                            "order_id": order_id,
                            "product_id": product["_id"],
                            "quantity": quantity,
                            "state": HELD,
                            "change": "adopted",
                            "updated_at": utcnow(),
                        }
                    },
                    upsert=True,
                )
                self.products.update_one(
                    {"_id": product["_id"]}, {"$unset": {f"reservations.{check_key(order_id)}": ""}}
                )
                moved += 1
            self.products.update_one({"_id": product["_id"]}, {"$unset": {"reservations": ""}})
        return moved

    # -- receipts and checks

    def receive(self, product_id: str, quantity: int) -> dict[str, Any] | None:
        """Record a receipt of stock; the product afterwards, or None if there is none."""
        return self.products.find_one_and_update(
            {"_id": product_id},
            {"$inc": {"available": quantity, "received": quantity}},
            projection=PUBLIC_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )

    def held(self) -> dict[str, int]:
        """Units held per product id, summed over the hold documents."""
        totals: dict[str, int] = {}
        for hold in self.holds.find({"state": HELD}, {"product_id": 1, "quantity": 1}):
            totals[hold["product_id"]] = totals.get(hold["product_id"], 0) + hold["quantity"]
        return totals

    def inconsistencies(self) -> list[dict[str, Any]]:
        """Products breaking ``available + reserved == received``, or whose ``reserved`` is not
        what their holds add up to, or with a change left under way (an operator check, run
        when the catalog is quiet; expected empty)."""
        held = self.held()
        broken = []
        fields = {"available": 1, "reserved": 1, "received": 1, "pending": 1}
        for doc in self.products.find({}, fields):
            doc["holds"] = held.get(doc["_id"], 0)
            if (
                doc["available"] + doc["reserved"] != doc["received"]
                or doc["holds"] != doc["reserved"]
                or doc.get("pending")
            ):
                broken.append(doc)
        return broken


def _new_hold(order_id: str, line: Line, state: str) -> dict[str, Any]:
    """A hold document for the first change of its order and product: its change is always
    ``FIRST``, so an attempt that dies before writing the hold is recognised by its marker."""
    return {
        "_id": hold_id(order_id, line.product_id),
        "order_id": order_id,
        "product_id": line.product_id,
        "quantity": line.quantity,
        "state": state,
        "change": FIRST,
    }


def _not_applied(field: str, change: str) -> dict[str, Any]:
    """The marker ``field`` is not ``change``. Spelled with ``$exists`` as well: nx-27017's
    updates do not match a missing field with ``$ne`` (its finds do, as MongoDB does)."""
    return {"$or": [{field: {"$exists": False}}, {field: {"$ne": change}}]}


def _marker(product: dict[str, Any], order_id: str) -> Any:
    return (product.get("pending") or {}).get(order_id)


def _shortfall(line: Line, current: dict[str, Any] | None) -> Reason | None:
    if current is None:
        return Reason(line.product_id, line.quantity, 0, Shortfall.UNKNOWN_PRODUCT)
    if not current.get("active"):
        return Reason(line.product_id, line.quantity, 0, Shortfall.INACTIVE_PRODUCT)
    available = int(current.get("available", 0))
    if available < line.quantity:
        return Reason(line.product_id, line.quantity, available, Shortfall.INSUFFICIENT_STOCK)
    return None
