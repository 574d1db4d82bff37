"""What the catalog does with the events it consumes, and what it publishes.

Consumed (queue ``catalog``): ``order.placed`` reserves the order's stock, all or nothing, and
publishes ``stock.reserved`` or ``stock.rejected``; ``order.cancelled`` releases what the order
holds. ``user.deleted`` is not subscribed: the catalog keeps no personal data. Their data is read
through the event contract (:mod:`msh_events.contract`), as every consumer reads it; data that
breaks it is dead-lettered at once.

Without transactions, each handler is idempotent by construction, so every delivery may run it
(no processed-event record, see :class:`msh_events.consumer.RecordNothing`): reservations are
keyed by order id, one delivery at a time decides an order and the first decision stands
(:mod:`catalog.store.decisions`), and the event that announces it has an id derived from the
order id, so running a handler again publishes the same event, not a second one. The decision
document keeps that event as the catalog's outbox entry (:mod:`catalog.store.outbox`).

Round trips to MongoDB for an order placed: the order taken, three per line (the counters, the
hold, the marker: :mod:`catalog.store.stock`), the decision with its announcement, and the
announcement's marking as sent (shared with the events relayed beside it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from catalog.domain.reservation import Decision, Line, Rejected, Reserved, reserve_order
from catalog.settings import SERVICE
from catalog.store import Store
from catalog.store.decisions import Hold, State
from msh_events import Event
from msh_events.consumer import Handler
from msh_events.contract import OrderCancelled, OrderPlaced, parse

logger = logging.getLogger(__name__)

# Ids of the events announcing a decision: uuid5(order id + event type), stable across re-runs.
DECISION_NAMESPACE = uuid.UUID("6f1d8a62-3f43-4a8e-9d0c-2f6a1e0c7b15")


def decision_event_id(order_id: str, event_type: str) -> str:
    return str(uuid.uuid5(DECISION_NAMESPACE, f"{order_id}:{event_type}"))


class CatalogEvents:
    """The handlers, bound to a store; ``published`` is given each event once it is in the
    outbox (the worker relays it at once; the sweep would send it anyway)."""

    def __init__(
        self, store: Store, published: Callable[[Sequence[Event]], None] = lambda _: None
    ) -> None:
        self.store = store
        self.published = published

    def handlers(self) -> dict[str, Handler]:
        return {"order.placed": self.order_placed, "order.cancelled": self.order_cancelled}

    def order_placed(self, event: Event) -> None:
        placed = parse(OrderPlaced, event)
        order_id = str(placed.order_id)
        # One delivery decides an order at a time: two order.placed (orders re-publishes stale
        # ones) or a racing order.cancelled never interleave their single-document steps.
        hold = self.store.decisions.take(order_id)
        if hold.decision is not None:
            self._say_again(hold.decision)
            return
        try:
            decision = self._decide(hold, placed, event)
        except BaseException:
            self.store.decisions.let_go(hold)
            raise
        if decision is None:
            return  # our hold ran out and another delivery is deciding: it answers
        if decision.get("cause") != event.id:
            self._say_again(decision)  # that delivery decided first
            return
        self.published([Event.from_dict(decision["event"])])  # its announcement, pending

    def _decide(self, hold: Hold, placed: OrderPlaced, event: Event) -> dict[str, Any] | None:
        order_id = hold.order_id
        lines = [Line(line.product_id, line.quantity) for line in placed.lines]
        decision = reserve_order(order_id, lines, self.store.stock, first=hold.first)
        state = _state_of(decision)
        logger.info("order stock %s", state, extra={"order_id": order_id, "event_id": event.id})
        return self.store.decisions.decide(
            hold, state, self._announcement(decision, event), event.id
        )

    def _say_again(self, decision: dict[str, Any]) -> None:
        """An order decided before: nothing may stay held unless it is reserved, and the
        decision is announced again (same event id; stock may have changed since)."""
        order_id = decision["_id"]
        state = State(decision["state"])
        if state is not State.RESERVED:
            released = self.store.stock.release_order(order_id)
            if released:
                logger.info("released for a %s order", state, extra={"order_id": order_id})
        if state is State.CANCELLED:
            return  # the order is gone; nobody waits for an answer
        announced = Event.from_dict(decision["event"])
        self.store.outbox.resend(order_id, announced)
        self.published([announced])

    def order_cancelled(self, event: Event) -> None:
        order_id = str(parse(OrderCancelled, event).order_id)
        previous = self.store.decisions.cancel(order_id)
        released = self.store.stock.release_order(order_id)
        logger.info(
            "order cancelled",
            extra={
                "order_id": order_id,
                "previous_state": str(previous) if previous else None,
                "released": sum(released.values()),
            },
        )

    def _announcement(self, decision: Decision, cause: Event) -> Event:
        return Event(
            type=decision.event_type,
            data=decision.event_data(),
            producer=SERVICE,
            id=decision_event_id(decision.order_id, decision.event_type),
            traceparent=cause.traceparent,
        )


def _state_of(decision: Decision) -> State:
    if isinstance(decision, Reserved):
        return State.RESERVED
    assert isinstance(decision, Rejected)
    return State.REJECTED


__all__ = ["CatalogEvents", "decision_event_id"]
