"""Reserving an order's stock: every line or none.

Each line is one atomic conditional update of one product document (the store's job), so two
orders racing for the last units cannot both get them. There is no multi-document transaction,
so "all or nothing" is built from those single-document steps: lines are reserved one by one
and, when one cannot be, the lines already reserved for that order are released again before
the order is rejected. Reservations are keyed by order id and product (the store's hold
documents), so running the same order again (a redelivered event) finds its lines already held
and reserves nothing twice.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    quantity: int


class Shortfall(enum.StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    UNKNOWN_PRODUCT = "unknown_product"
    INACTIVE_PRODUCT = "inactive_product"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one line cannot be reserved, as ``stock.rejected`` reports it."""

    product_id: str
    requested: int
    available: int
    code: Shortfall

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "requested": self.requested,
            "available": self.available,
            "code": str(self.code),
        }


class Stock(Protocol):
    """The store's atomic single-document stock operations."""

    def reserve(self, order_id: str, line: Line, *, first: bool = False) -> Reason | None:
        """Hold ``line`` for ``order_id`` atomically, unless that order already holds it.
        None when the order holds the line afterwards, else why not. ``first``: the order's
        first attempt, so nothing of it can be held or under way yet (fewer checks)."""
        ...

    def shortfall(self, line: Line) -> Reason | None:
        """Why ``line`` could not be reserved now (read only; None if it could)."""
        ...

    def release(self, order_id: str, product_id: str) -> int:
        """Give back what ``order_id`` holds of one product, once; returns the quantity."""
        ...


@dataclass(frozen=True, slots=True)
class Reserved:
    order_id: str
    lines: tuple[Line, ...]

    event_type = "stock.reserved"

    def event_data(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "lines": [{"product_id": x.product_id, "quantity": x.quantity} for x in self.lines],
        }


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: str
    reasons: tuple[Reason, ...]

    event_type = "stock.rejected"

    def event_data(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "reasons": [r.to_dict() for r in self.reasons]}


Decision = Reserved | Rejected


def merge_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """One line per product (quantities added), in first-seen order: a reservation is keyed
    by order and product, so two lines of one product must be reserved as one."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return tuple(Line(product_id, quantity) for product_id, quantity in totals.items())


def reserve_order(
    order_id: str, lines: Iterable[Line], stock: Stock, *, first: bool = False
) -> Decision:
    """Reserve every line of the order, or release what was reserved and say why not.

    A rejection lists every line that cannot be reserved, not only the first one found.
    ``first``: no attempt for this order came before (see :meth:`Stock.reserve`).
    """
    lines = merge_lines(lines)
    held: list[Line] = []
    reasons: list[Reason] = []
    for line in lines:
        if reasons:
            # Already rejected: only find out which other lines fall short, reserve nothing.
            reason = stock.shortfall(line)
        else:
            reason = stock.reserve(order_id, line, first=first)
            if reason is None:
                held.append(line)
        if reason is not None:
            reasons.append(reason)
    if not reasons:
        return Reserved(order_id, lines)
    for line in reversed(held):
        stock.release(order_id, line.product_id)
    return Rejected(order_id, tuple(reasons))
