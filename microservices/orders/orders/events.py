"""What orders publishes, and how it handles what it consumes (docs/architecture.md).

Out: ``order.placed`` (to catalog: reserve), ``order.confirmed`` (to mainapp: e-mail),
``order.cancelled`` (to catalog: release). In: ``stock.reserved``, ``stock.rejected``,
``user.deleted``. Every handler runs in the idempotent consumer's transaction, so its effect and
the record of the event id commit together; an event delivered twice is applied once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from msh_events import Event
from msh_events.consumer import IdempotentConsumer
from msh_events.contract import StockRejected, StockReserved, UserDeleted, parse

from .domain.status import OrderStatus
from .store import orders as order_store
from .store.db import Database
from .store.events import SqlProcessedEventStore, add_to_outbox, handler_session

logger = logging.getLogger(__name__)

PRODUCER = "orders"
QUEUE = "orders"


def publish(
    session: Session, event_type: str, data: dict[str, Any], traceparent: str | None = None
) -> Event:
    """Write an event into the outbox inside ``session``'s transaction."""
    event = Event(type=event_type, data=data, producer=PRODUCER, traceparent=traceparent)
    add_to_outbox(session, event)
    return event


def order_placed(order_id: uuid.UUID, lines: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "lines": [{"product_id": product_id, "quantity": qty} for product_id, qty in lines],
    }


def order_confirmed(order: Row[Any], lines: Sequence[Row[Any]]) -> dict[str, Any]:
    """What the confirmation e-mail needs; mainapp finds the address from ``user_id``.
    ``order`` and ``lines`` are rows of the store (``transition``, ``lines_of``)."""
    return {
        "order_id": str(order.id),
        "user_id": str(order.user_id) if order.user_id else None,
        "currency": order.currency,
        "total": str(order.total),
        "lines": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.unit_price * line.quantity),
            }
            for line in lines
        ],
    }


def order_cancelled(
    order_id: uuid.UUID, reason: str, user_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """For the catalog (release the stock) and mainapp (tell the customer: ``user_id``, absent
    when only stock held too late is released and the customer saw nothing change)."""
    data: dict[str, Any] = {"order_id": str(order_id), "reason": reason}
    if user_id is not None:
        data["user_id"] = str(user_id)
    return data


def order_rejected(order: Row[Any]) -> dict[str, Any]:
    """For mainapp: tell the customer, with the catalog's reasons."""
    return {
        "order_id": str(order.id),
        "user_id": str(order.user_id) if order.user_id else None,
        "reason": "not enough stock",
        "reasons": list(order.reasons or []),
    }


def on_stock_reserved(event: Event) -> None:
    """pending -> confirmed, and order.confirmed out.

    Arriving for an order that is no longer pending: a duplicate for a confirmed one changes
    nothing; for a cancelled or rejected one (the owner cancelled while the catalog reserved, or
    the sweeper's re-sent order.placed was reserved after a rejection) the catalog now holds
    stock nobody will buy, so order.cancelled goes out again to release it.
    """
    session = handler_session()
    order_id = parse(StockReserved, event).order_id
    order = order_store.transition(session, order_id, OrderStatus.CONFIRMED)
    if order is not None:
        lines = order_store.lines_of(session, order_id)
        publish(session, "order.confirmed", order_confirmed(order, lines), event.traceparent)
        logger.info("order confirmed", extra={"order_id": str(order_id)})
        return
    status = order_store.current_status(session, order_id)
    if status is None:
        logger.warning("stock.reserved for an unknown order", extra={"order_id": str(order_id)})
    elif status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        publish(
            session,
            "order.cancelled",
            order_cancelled(order_id, f"reserved after the order was {status}"),
            event.traceparent,
        )
        logger.info(
            "late reservation released", extra={"order_id": str(order_id), "status": str(status)}
        )


def on_stock_rejected(event: Event) -> None:
    """pending -> rejected, with the catalog's reasons, and order.rejected out; otherwise (late,
    duplicate) nothing."""
    session = handler_session()
    rejected = parse(StockRejected, event)
    order_id = rejected.order_id
    # Only what the contract names is kept (a field added by the catalog stays out of the row).
    reasons = [reason.model_dump(mode="json") for reason in rejected.reasons]
    order = order_store.transition(session, order_id, OrderStatus.REJECTED, reasons=reasons)
    if order is None:
        logger.info("stock.rejected ignored: order not pending", extra={"order_id": str(order_id)})
        return
    publish(session, "order.rejected", order_rejected(order), event.traceparent)
    logger.info("order rejected", extra={"order_id": str(order_id)})


def on_user_deleted(event: Event) -> None:
    """Anonymise the user's orders (kept for accounting) and drop their cart."""
    session = handler_session()
    user_id = parse(UserDeleted, event).user_id
    count = order_store.anonymise_user(session, user_id)
    logger.info("orders anonymised", extra={"user_id": str(user_id), "orders": count})


HANDLERS = {
    "stock.reserved": on_stock_reserved,
    "stock.rejected": on_stock_rejected,
    "user.deleted": on_user_deleted,
}


def make_consumer(db: Database) -> IdempotentConsumer:
    return IdempotentConsumer(SqlProcessedEventStore(db), HANDLERS)
