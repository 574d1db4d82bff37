"""One cart per user: a row in ``carts`` (locked while it changes) and its items."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from orders.domain.pricing import TooManyLines

from .models import Cart, CartItem


def cart_items(session: Session, user_id: uuid.UUID) -> list[CartItem]:
    return list(
        session.scalars(
            select(CartItem)
            .where(CartItem.user_id == user_id)
            .order_by(CartItem.added_at, CartItem.product_id)
        ).all()
    )


def _lock_cart(session: Session, user_id: uuid.UUID) -> None:
    """Create the cart if needed and hold its row until commit: a user's concurrent cart
    changes run one after the other, so the item cap cannot be raced past."""
    session.execute(
        insert(Cart)
        .values(user_id=user_id)
        .on_conflict_do_update(index_elements=[Cart.user_id], set_={"updated_at": func.now()})
    )


def set_quantity(
    session: Session, user_id: uuid.UUID, product_id: str, quantity: int, *, max_lines: int
) -> None:
    """Set one item's quantity; 0 removes it."""
    _lock_cart(session, user_id)
    if quantity == 0:
        session.execute(
            delete(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
        )
        return
    others = session.scalar(
        select(func.count())
        .select_from(CartItem)
        .where(CartItem.user_id == user_id, CartItem.product_id != product_id)
    )
    if (others or 0) >= max_lines:
        raise TooManyLines(f"A cart holds at most {max_lines} different products.")
    session.execute(
        insert(CartItem)
        .values(user_id=user_id, product_id=product_id, quantity=quantity)
        .on_conflict_do_update(
            index_elements=[CartItem.user_id, CartItem.product_id], set_={"quantity": quantity}
        )
    )


def clear(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(Cart).where(Cart.user_id == user_id))


def remove_products(session: Session, user_id: uuid.UUID, product_ids: Iterable[str]) -> None:
    """After a checkout of the cart: drop what was ordered (anything added meanwhile stays)."""
    session.execute(
        delete(CartItem).where(
            CartItem.user_id == user_id, CartItem.product_id.in_(list(product_ids))
        )
    )
