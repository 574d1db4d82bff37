"""The tables of the ``orders`` database (the Alembic migrations create exactly these).

Money is ``NUMERIC`` without a scale: exact, and whatever precision the catalog priced in.
The status rules live in the database too: a CHECK on the values, a trigger refusing any change
the state machine does not allow (see ``domain/status.py`` and the first migration).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from orders.domain.status import OrderStatus

STATUS_VALUES = ", ".join(f"'{status}'" for status in OrderStatus)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as one, for Core statements (``__table__`` is typed as any
    ``FromClause``)."""
    return Base.metadata.tables[model.__tablename__]


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Cart(Base):
    """One cart per user; its items are what a checkout without ``lines`` orders."""

    __tablename__ = "carts"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    updated_at: Mapped[datetime] = _now()

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.added_at"
    )


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("carts.user_id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = _now()

    cart: Mapped[Cart] = relationship(back_populates="items")


class Order(Base):
    """An order and where it stands in the saga."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status_valid"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("status <> 'confirmed' OR confirmed_at IS NOT NULL", name="confirmed_at"),
        CheckConstraint("status <> 'rejected' OR rejected_at IS NOT NULL", name="rejected_at"),
        CheckConstraint("status <> 'cancelled' OR cancelled_at IS NOT NULL", name="cancelled_at"),
        CheckConstraint(
            "idempotency_key IS NULL OR user_id IS NOT NULL", name="idempotency_key_has_user"
        ),
        # The same Idempotency-Key from the same user can only ever make one order.
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_orders_user_created", "user_id", text("created_at DESC")),
        Index("ix_orders_created", text("created_at DESC")),
        Index(
            "ix_orders_pending_published",
            "placed_published_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_orders_confirmed_at", "confirmed_at", postgresql_where=text("status = 'confirmed'")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    # NULL once the user deleted the account: the order stays for accounting, anonymously.
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=OrderStatus.PENDING.value
    )
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric, nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # Bumped by the database on every change of status: the order of live-status events.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When order.placed was last written to the outbox, and how often the sweeper re-did it.
    placed_published_at: Mapped[datetime] = _now()
    republish_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.position",
        lazy="selectin",
    )


class OrderLine(Base):
    """A product as it was priced at checkout: the snapshot later catalog changes never touch."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        Index("ix_order_lines_product", "product_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OutboxEvent(Base):
    """An event committed with the change that caused it, waiting for the relay."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_pending", "created_at", postgresql_where=text("sent_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """An event id this service has applied; the primary key makes a second apply impossible."""

    __tablename__ = "processed_events"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    handled_at: Mapped[datetime] = _now()


class DeadLetter(Base):
    """A message the worker gave up on, kept whole so an operator can fix the cause and replay."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message: Mapped[Any] = mapped_column(JSONB, nullable=False)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    type: Mapped[str] = mapped_column(String(100), nullable=False, server_default="")
    error: Mapped[str] = mapped_column(Text, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = _now()
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
