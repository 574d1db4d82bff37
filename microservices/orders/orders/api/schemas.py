"""Shapes shared by the resources: product ids, money (exact decimals sent as strings), orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from orders.domain.pricing import PricedOrder
from orders.domain.status import OrderStatus
from orders.store.models import Order
from orders.store.orders import NewOrder

PRODUCT_ID_MAX = 64
PRODUCT_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
ProductId = Annotated[
    str, StringConstraints(min_length=1, max_length=PRODUCT_ID_MAX, pattern=PRODUCT_ID_PATTERN)
]
# Exact decimal, serialised as a string ("19.99") so no client turns it into a float.
Money = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="json")]


class Documented(BaseModel):
    @classmethod
    def ref(cls) -> str:
        """Where the OpenAPI document keeps this schema (``install_error_docs`` adds it when
        no JSON body names it, which FastAPI would leave out)."""
        return f"#/components/schemas/{cls.__name__}"


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ProductId
    quantity: int = Field(ge=1, le=10_000)


class OrderLineOut(BaseModel):
    product_id: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money

    @classmethod
    def of(cls, line: Any) -> OrderLineOut:
        """From a stored line or a freshly priced one: both carry these attributes."""
        return cls(
            product_id=line.product_id,
            name=line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
        )


class OrderStatusEvent(Documented):
    """The data of each ``status`` event of an order's live stream (its ``id`` is ``version``)."""

    order_id: uuid.UUID
    status: OrderStatus
    version: int = Field(description="Bumped by every change of status; the event's id.")
    reasons: list[dict[str, Any]] | None = Field(
        None, description="Why the catalog rejected it: [{product_id, requested, available}]."
    )
    updated_at: datetime


class OrderOut(BaseModel):
    id: uuid.UUID
    status: OrderStatus
    user_id: uuid.UUID | None = Field(description="None once the customer deleted the account.")
    currency: str
    total: Money
    lines: list[OrderLineOut]
    reasons: list[dict[str, Any]] | None = Field(
        None, description="Why the catalog rejected it: [{product_id, requested, available}]."
    )
    version: int = Field(description="Bumped by every change of status.")
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    rejected_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            status=OrderStatus(order.status),
            user_id=order.user_id,
            currency=order.currency,
            total=order.total,
            lines=[OrderLineOut.of(line) for line in order.lines],
            reasons=order.reasons,
            version=order.version,
            created_at=order.created_at,
            updated_at=order.updated_at,
            confirmed_at=order.confirmed_at,
            rejected_at=order.rejected_at,
            cancelled_at=order.cancelled_at,
        )


def placed_order_out(new: NewOrder, user_id: uuid.UUID, priced: PricedOrder) -> OrderOut:
    """A just-placed order as the API shows it, from what checkout already holds (no read back:
    a new order is pending, version 1, updated when created)."""
    return OrderOut(
        id=new.id,
        status=OrderStatus.PENDING,
        user_id=user_id,
        currency=priced.currency,
        total=priced.total,
        lines=[OrderLineOut.of(line) for line in priced.lines],
        version=1,
        created_at=new.created_at,
        updated_at=new.created_at,
        confirmed_at=None,
        rejected_at=None,
        cancelled_at=None,
    )


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    page: int
    page_size: int
