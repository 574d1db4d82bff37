"""What the catalog does with the events it consumes, and what it publishes.

Consumed (queue ``catalog``): ``order.placed`` reserves the order's stock, all or nothing, and
publishes ``stock.reserved`` or ``stock.rejected``; ``order.cancelled`` releases what the order
holds. ``user.deleted`` is not subscribed: the catalog keeps no personal data.

Without transactions, each handler is idempotent by construction (see
:mod:`catalog.store.processed`): reservations are keyed by order id, the first decision about an
order stands (:mod:`catalog.store.decisions`), and the event that announces it has an id derived
from the order id, so running a handler again publishes the same event, not a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.domain.keys import KEY_PATTERN
from catalog.domain.reservation import Decision, Line, Rejected, Reserved, reserve_order
from catalog.settings import SERVICE
from catalog.store import Store
from catalog.store.decisions import State
from msh_events import Event
from msh_events.consumer import Handler
from msh_events.tasks import PermanentError

logger = logging.getLogger(__name__)

# Ids of the events announcing a decision: uuid5(order id + event type), stable across re-runs.
DECISION_NAMESPACE = uuid.UUID("6f1d8a62-3f43-4a8e-9d0c-2f6a1e0c7b15")
MAX_LINES = 100

OrderId = Annotated[str, Field(pattern=KEY_PATTERN, strict=True)]


class InvalidEventData(PermanentError, ValueError):
    """An event whose data breaks its contract: dead-lettered at once, for a look."""


class _OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: Annotated[str, Field(min_length=1, max_length=64, strict=True)]
    quantity: Annotated[int, Field(ge=1, le=1_000_000, strict=True)]


class OrderPlaced(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: OrderId
    lines: Annotated[list[_OrderLine], Field(min_length=1, max_length=MAX_LINES)]


class OrderCancelled(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: OrderId


def decision_event_id(order_id: str, event_type: str) -> str:
    return str(uuid.uuid5(DECISION_NAMESPACE, f"{order_id}:{event_type}"))


ModelT = TypeVar("ModelT", bound=BaseModel)


def _parse(model: type[ModelT], event: Event) -> ModelT:
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEventData(f"{event.type} {event.id}: {exc}") from exc


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
        placed = _parse(OrderPlaced, event)
        # One event about an order at a time: two order.placed (orders re-publishes stale ones)
        # or a racing order.cancelled never interleave their single-document steps.
        with self.store.leases.hold(f"order:{placed.order_id}"):
            self._place(placed, event)

    def _place(self, placed: OrderPlaced, event: Event) -> None:
        order_id = placed.order_id
        decision_doc = self.store.decisions.get(order_id)
        asked_again = decision_doc is not None
        if decision_doc is None:
            lines = [Line(line.product_id, line.quantity) for line in placed.lines]
            decision = reserve_order(order_id, lines, self.store.stock)
            announcement = self._announcement(decision, event)
            decision_doc = self.store.decisions.decide(order_id, _state_of(decision), announcement)
            logger.info(
                "order stock %s",
                _state_of(decision),
                extra={"order_id": order_id, "event_id": event.id},
            )
        state = State(decision_doc["state"])
        if state is not State.RESERVED:
            # Rejected or cancelled meanwhile: nothing may stay held for this order.
            released = self.store.stock.release_order(order_id)
            if released:
                logger.info("released for a %s order", state, extra={"order_id": order_id})
        if state is State.CANCELLED:
            return  # the order is gone; nobody waits for an answer
        decided = Event.from_dict(decision_doc["event"])
        if asked_again:
            # The decision stands (stock may have changed since); say it again, same event id.
            self.store.outbox.resend(decided)
        else:
            self.store.outbox.add(decided)
        self.published([decided])

    def order_cancelled(self, event: Event) -> None:
        order_id = _parse(OrderCancelled, event).order_id
        with self.store.leases.hold(f"order:{order_id}"):
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


__all__ = ["CatalogEvents", "InvalidEventData", "decision_event_id"]
