"""``/api/orders``: checkout (the start of the saga), listing, one order, cancel."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from orders.domain.pricing import LineRequest, PricingError, merge_lines
from orders.domain.status import OrderStatus
from orders.events import order_cancelled, order_placed, publish
from orders.settings import Settings
from orders.store import carts
from orders.store import orders as order_store
from orders.store.db import Database
from orders.store.models import Order

from .deps import Caller, CallerDep, CatalogDep, DatabaseDep, SettingsDep
from .errors import ApiError, error_docs, not_found
from .pricing import api_error_of, quote_and_price
from .schemas import LineIn, OrderOut, OrderPage, placed_order_out

router = APIRouter(prefix="/api/orders", tags=["orders"], responses=error_docs([401, 503]))

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): the same key from the same user returns the "
        "same order instead of placing a second one.",
    ),
]


class CheckoutIn(BaseModel):
    """Without ``lines``, the caller's cart is checked out (and emptied of what was ordered)."""

    model_config = ConfigDict(extra="forbid")

    lines: list[LineIn] | None = Field(None, min_length=1, max_length=500)


EMPTY_CHECKOUT = CheckoutIn()  # what no body means: the cart


def parse_order_id(order_id: str) -> uuid.UUID:
    """A malformed id names no order: 404, like someone else's."""
    try:
        return uuid.UUID(order_id)
    except ValueError as exc:
        raise not_found() from exc


def visible_order(session: Session, order_id: str, caller: Caller) -> Order:
    """The order if the caller may see it (their own; any for staff), else a 404: someone
    else's order is indistinguishable from one that does not exist."""
    order = order_store.get_order(session, parse_order_id(order_id), owner=caller.owner_filter)
    if order is None:
        raise not_found()
    return order


def fingerprint(lines: list[LineRequest] | None) -> str:
    """What a request asked for (the cart, or these quantities of these products, in any
    order), so that an Idempotency-Key reused for another request is refused."""
    if lines is None:
        asked: dict[str, object] = {"cart": True}
    else:
        quantities: dict[str, int] = {}
        for line in lines:
            quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
        asked = {"lines": sorted(quantities.items())}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def _replay(order: Order, print_: str, response: Response) -> OrderOut:
    if order.request_fingerprint != print_:
        raise ApiError(
            422,
            "This Idempotency-Key was already used for a different order request.",
            code="idempotency_key_reused",
        )
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/orders/{order.id}"
    return OrderOut.of(order)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrderOut,
    summary="Check out: place an order for the cart (or the given lines)",
    description="Prices every line with the catalog, stores the price snapshot and commits the "
    "order `pending` with `order.placed` in one transaction. The saga then confirms or rejects "
    "it; follow it on `GET /api/orders/{id}/events`.",
    responses=error_docs(
        {
            401: "`not_authenticated`, `invalid_token`: no valid access token "
            "(or the catalog refused it).",
            422: "`validation_error`: invalid fields, in `error.fields`; `empty_order`, "
            "`too_many_lines`, `quantity_too_large`: nothing to order, or over the limits; "
            "`product_unavailable`, `mixed_currencies`: unknown or inactive products, prices "
            "in several currencies; `idempotency_key_reused`: the key was used for another "
            "request.",
            503: "`catalog_unavailable`: the catalog cannot price the lines; nothing was ordered. "
            "`auth_unavailable`: tokens cannot be verified right now.",
        }
    ),
)
def place_order(
    response: Response,
    db: DatabaseDep,
    catalog: CatalogDep,
    caller: CallerDep,
    settings: SettingsDep,
    # Optional, never null (none: the cart): a nullable body made generated clients send
    # their "unset" marker.
    body: Annotated[CheckoutIn, Body()] = EMPTY_CHECKOUT,
    idempotency_key: IdempotencyKey = None,
    traceparent: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrderOut:
    asked = _asked_lines(body)
    request_print = fingerprint(asked)
    if idempotency_key is not None:
        with db.transaction() as session:
            existing = order_store.get_by_idempotency_key(session, caller.user_id, idempotency_key)
            if existing is not None:
                return _replay(existing, request_print, response)
    from_cart = asked is None
    lines = _order_lines(db, caller, settings, asked)
    priced = quote_and_price(catalog, caller, lines)

    with db.transaction() as session:
        new = order_store.insert_order(
            session,
            user_id=caller.user_id,
            priced=priced,
            idempotency_key=idempotency_key,
            fingerprint=request_print if idempotency_key else None,
        )
        if new is None:  # a concurrent request with the same key won
            assert idempotency_key is not None
            existing = order_store.get_by_idempotency_key(session, caller.user_id, idempotency_key)
            assert existing is not None
            return _replay(existing, request_print, response)
        publish(
            session,
            "order.placed",
            order_placed(new.id, [(line.product_id, line.quantity) for line in priced.lines]),
            traceparent,
        )
        if from_cart:
            carts.remove_products(session, caller.user_id, [line.product_id for line in lines])
    response.headers["Location"] = f"/api/orders/{new.id}"
    return placed_order_out(new, caller.user_id, priced)


def _asked_lines(body: CheckoutIn | None) -> list[LineRequest] | None:
    """The lines the request names; None when it names none, and the cart is ordered."""
    if body is None or body.lines is None:
        return None
    return [LineRequest(line.product_id, line.quantity) for line in body.lines]


def _order_lines(
    db: Database, caller: Caller, settings: Settings, asked: list[LineRequest] | None
) -> list[LineRequest]:
    """The lines to order: those asked for, else the cart's; merged and bounded."""
    if asked is None:
        with db.transaction() as session:
            asked = [
                LineRequest(item.product_id, item.quantity)
                for item in carts.cart_items(session, caller.user_id)
            ]
    try:
        return merge_lines(
            asked, max_quantity=settings.orders_max_quantity, max_lines=settings.orders_max_lines
        )
    except PricingError as exc:
        raise api_error_of(exc) from exc


@router.get(
    "",
    response_model=OrderPage,
    summary="Orders, newest first",
    responses=error_docs({403: "`permission_denied`: only staff may list every order."}),
)
def list_orders(
    db: DatabaseDep,
    caller: CallerDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 20,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    scope: Annotated[
        Literal["mine", "all"], Query(description="`all`: every customer's (staff only)")
    ] = "mine",
) -> OrderPage:
    """The caller's orders (``scope=all``: every customer's, staff only), newest first, one
    page at a time, optionally of one ``status``."""
    if scope == "all" and not caller.is_staff:
        raise ApiError(403, "Only staff may list every order.", code="permission_denied")
    page_size = min(page_size, settings.orders_page_size_max)
    with db.transaction() as session:
        rows, total = order_store.list_orders(
            session,
            owner=None if scope == "all" else caller.user_id,
            status=status_,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        items = [OrderOut.of(order) for order in rows]
    return OrderPage(items=items, total=total, page=page, page_size=page_size)


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    summary="One order (yours, or any for staff)",
    responses=error_docs([404]),
)
def get_order(order_id: str, db: DatabaseDep, caller: CallerDep) -> OrderOut:
    """With its lines (the price snapshot taken at checkout) and, once decided, why it was
    rejected. Another customer's order answers 404, as an unknown id does."""
    with db.transaction() as session:
        return OrderOut.of(visible_order(session, order_id, caller))


@router.post(
    "/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel a pending or confirmed order (its stock is released)",
    responses={
        **error_docs([404]),
        **error_docs({409: "`invalid_transition`: the order was rejected; nothing to cancel."}),
    },
)
def cancel_order(
    order_id: str,
    db: DatabaseDep,
    caller: CallerDep,
    traceparent: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrderOut:
    """A pending or confirmed order becomes ``cancelled`` and ``order.cancelled`` releases its
    stock in the catalog. Cancelling a cancelled order answers it unchanged; a rejected one
    cannot be cancelled (409)."""
    with db.transaction() as session:
        order = visible_order(session, order_id, caller)
        oid = order.id  # parsed and checked by visible_order
        if order.status == OrderStatus.CANCELLED:
            return OrderOut.of(order)  # cancelling twice is not an error
        if order_store.transition(session, oid, OrderStatus.CANCELLED) is None:
            current = order_store.current_status(session, oid)
            raise ApiError(
                409,
                f"A {current} order cannot be cancelled.",
                code="invalid_transition",
            )
        who = "staff" if caller.is_staff and order.user_id != caller.user_id else "customer"
        cancelled_event = order_cancelled(oid, f"cancelled by the {who}", order.user_id)
        publish(session, "order.cancelled", cancelled_event, traceparent)
        session.refresh(order)
        return OrderOut.of(order)
