"""Stock in the product document: ``available``, ``reserved``, ``received`` and the
reservations keyed by order id (``reservations: {<order id>: quantity}``).

Every change is one atomic single-document update whose condition and effect go together, so the
invariant ``available + reserved == received`` (and ``reserved == sum(reservations)``) holds at
every moment, with no transaction:

* reserve: only when ``available >= q`` and this order holds none of it yet;
* release: only while the order holds exactly the quantity read, then removes the hold;
* receive: adds to ``available`` and ``received`` together.

The reservations are a map keyed by order id rather than an array of ``{order_id, quantity}``:
nx-27017 (the local MongoDB-compatible server) stores pushed sub-documents as strings and
mis-evaluates ``$ne`` on array paths, while ``$exists``/``$set``/``$unset`` on
``reservations.<order id>`` behave the same there and on MongoDB. Order ids are checked to be
safe field names first.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection

from catalog.domain.keys import check_key
from catalog.domain.reservation import Line, Reason, Shortfall

from .products import PUBLIC_PROJECTION

# A failed conditional update is diagnosed by a read; if the read says it would succeed now
# (stock moved in between), try again, a bounded number of times.
ATTEMPTS = 5


def hold_field(order_id: str) -> str:
    return f"reservations.{check_key(order_id)}"


class StockStore:
    def __init__(self, products: Collection) -> None:
        self.products = products

    def reserve(self, order_id: str, line: Line) -> Reason | None:
        field = hold_field(order_id)
        reason: Reason | None = None
        for _ in range(ATTEMPTS):
            done = self.products.find_one_and_update(
                {
                    "_id": line.product_id,
                    "active": True,
                    "available": {"$gte": line.quantity},
                    field: {"$exists": False},
                },
                {
                    "$inc": {"available": -line.quantity, "reserved": line.quantity},
                    "$set": {field: line.quantity},
                },
                projection={"_id": 1},
            )
            if done is not None:
                return None
            current = self._stock_of(line.product_id)
            if current is not None and order_id in current.get("reservations", {}):
                return None  # held by this order already: a redelivered event
            reason = _shortfall(line, current)
            if reason is not None:
                return reason
        return reason or Reason(line.product_id, line.quantity, 0, Shortfall.INSUFFICIENT_STOCK)

    def shortfall(self, line: Line) -> Reason | None:
        return _shortfall(line, self._stock_of(line.product_id))

    def release(self, order_id: str, product_id: str) -> int:
        field = hold_field(order_id)
        for _ in range(ATTEMPTS):
            current = self._stock_of(product_id)
            held = (current or {}).get("reservations", {}).get(order_id)
            if not held:
                return 0
            done = self.products.find_one_and_update(
                {"_id": product_id, field: held},
                {"$inc": {"available": held, "reserved": -held}, "$unset": {field: ""}},
                projection={"_id": 1},
            )
            if done is not None:
                return held
        return 0

    def holders(self, order_id: str) -> list[str]:
        """Ids of the products that hold stock for ``order_id``."""
        found = self.products.find({hold_field(order_id): {"$exists": True}}, {"_id": 1})
        return [doc["_id"] for doc in found]

    def release_order(self, order_id: str) -> dict[str, int]:
        """Release everything ``order_id`` holds; product id -> quantity released now."""
        released = {}
        for product_id in self.holders(order_id):
            quantity = self.release(order_id, product_id)
            if quantity:
                released[product_id] = quantity
        return released

    def receive(self, product_id: str, quantity: int) -> dict[str, Any] | None:
        """Record a receipt of stock; the product afterwards, or None if there is none."""
        return self.products.find_one_and_update(
            {"_id": product_id},
            {"$inc": {"available": quantity, "received": quantity}},
            projection=PUBLIC_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )

    def inconsistencies(self) -> list[dict[str, Any]]:
        """Products breaking ``available + reserved == received`` or
        ``reserved == sum(reservations)`` (an operator check; expected empty)."""
        broken = []
        fields = {"available": 1, "reserved": 1, "received": 1, "reservations": 1}
        for doc in self.products.find({}, fields):
            holds = sum((doc.get("reservations") or {}).values())
            if doc["available"] + doc["reserved"] != doc["received"] or holds != doc["reserved"]:
                broken.append(doc)
        return broken

    def _stock_of(self, product_id: str) -> dict[str, Any] | None:
        # The whole map, not "reservations.<id>": nx-27017 flattens dotted projections.
        return self.products.find_one(
            {"_id": product_id}, {"available": 1, "active": 1, "reservations": 1}
        )


def _shortfall(line: Line, current: dict[str, Any] | None) -> Reason | None:
    if current is None:
        return Reason(line.product_id, line.quantity, 0, Shortfall.UNKNOWN_PRODUCT)
    if not current.get("active"):
        return Reason(line.product_id, line.quantity, 0, Shortfall.INACTIVE_PRODUCT)
    available = int(current.get("available", 0))
    if available < line.quantity:
        return Reason(line.product_id, line.quantity, available, Shortfall.INSUFFICIENT_STOCK)
    return None
