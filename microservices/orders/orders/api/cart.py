"""``/api/cart``: one cart per user, priced live by the catalog when it answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from orders.catalog import CatalogUnavailable
from orders.catalog.client import QuoteRefused
from orders.domain.pricing import LineRequest, PricingError, Quote, unavailable_reason
from orders.store import carts

from .deps import CallerDep, CatalogDep, DatabaseDep, SettingsDep
from .errors import ApiError, error_docs
from .pricing import api_error_of, fetch_quotes
from .schemas import PRODUCT_ID_MAX, PRODUCT_ID_PATTERN, Money

router = APIRouter(prefix="/api/cart", tags=["cart"], responses=error_docs([401, 503]))


class QuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=10_000, description="0 removes the item.")


class CartItemOut(BaseModel):
    product_id: str
    quantity: int
    name: str | None = None
    unit_price: Money | None = None
    currency: str | None = None
    line_total: Money | None = None
    orderable: bool | None = Field(None, description="Known and for sale (None: not priced).")


class CartOut(BaseModel):
    items: list[CartItemOut]
    priced: bool = Field(description="False when the catalog could not be asked for prices.")
    currency: str | None = None
    subtotal: Money | None = None


def _priced_cart(items: list[LineRequest], quotes: dict[str, Quote] | None) -> CartOut:
    if quotes is None:
        return CartOut(
            items=[CartItemOut(product_id=i.product_id, quantity=i.quantity) for i in items],
            priced=False,
        )
    out = [_priced_item(item, quotes.get(item.product_id)) for item in items]
    currencies = {item.currency for item in out if item.orderable}
    if len(currencies) != 1:  # nothing orderable, or prices in several currencies
        return CartOut(items=out, priced=True)
    subtotal = sum((item.line_total or Decimal(0) for item in out), Decimal(0))
    return CartOut(items=out, priced=True, currency=currencies.pop(), subtotal=subtotal)


def _priced_item(item: LineRequest, quote: Quote | None) -> CartItemOut:
    """One cart line as the catalog prices it now; unpriced when it cannot be ordered."""
    name = quote.name if quote and quote.found else None
    if quote is None or unavailable_reason(quote) is not None:
        return CartItemOut(
            product_id=item.product_id, quantity=item.quantity, name=name, orderable=False
        )
    return CartItemOut(
        product_id=item.product_id,
        quantity=item.quantity,
        name=name,
        unit_price=quote.unit_price,
        currency=quote.currency,
        line_total=quote.unit_price * item.quantity,
        orderable=True,
    )


def _cart(db: DatabaseDep, catalog: CatalogDep, caller: CallerDep) -> CartOut:
    with db.transaction() as session:
        items = [
            LineRequest(i.product_id, i.quantity) for i in carts.cart_items(session, caller.user_id)
        ]
    if not items:
        return CartOut(items=[], priced=True)
    try:
        quotes = catalog.quote(items, caller.token)
    except (CatalogUnavailable, QuoteRefused):
        quotes = None  # the cart is still shown, unpriced
    return _priced_cart(items, quotes)


@router.get("", response_model=CartOut, summary="The caller's cart, priced by the catalog")
def get_cart(db: DatabaseDep, catalog: CatalogDep, caller: CallerDep) -> CartOut:
    """Every line with the catalog's current price and availability; a product that can no
    longer be ordered stays in the cart, unpriced, with the reason. Prices here are
    indicative: checkout prices again."""
    return _cart(db, catalog, caller)


@router.put(
    "/items/{product_id}",
    response_model=CartOut,
    summary="Set a product's quantity in the cart (0 removes it)",
    responses=error_docs(
        {
            401: "`not_authenticated`, `invalid_token`: no valid access token "
            "(or the catalog refused it).",
            422: "`validation_error`: invalid fields, in `error.fields`; "
            "`product_unavailable`: unknown or inactive product.",
            503: "`catalog_unavailable`: the catalog cannot price the product; nothing changed. "
            "`auth_unavailable`: tokens cannot be verified right now.",
        }
    ),
)
def set_cart_item(
    product_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=PRODUCT_ID_MAX,
            pattern=PRODUCT_ID_PATTERN,
            description="The catalog's product id",
        ),
    ],
    body: QuantityIn,
    db: DatabaseDep,
    catalog: CatalogDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> CartOut:
    """Sets the quantity, not adds to it (0 removes the line). The product must be one the
    catalog sells now; answers the whole cart, priced."""
    if body.quantity > settings.orders_max_quantity:
        raise ApiError(
            422,
            "The request has invalid fields.",
            code="validation_error",
            fields={"quantity": [f"Ensure this value is at most {settings.orders_max_quantity}."]},
        )
    if body.quantity > 0:
        quotes = fetch_quotes(catalog, caller, [LineRequest(product_id, body.quantity)])
        reason = unavailable_reason(quotes.get(product_id))
        if reason is not None:
            raise ApiError(
                422,
                f"This product cannot be ordered: {reason}.",
                code="product_unavailable",
                fields={product_id: [reason]},
            )
    try:
        with db.transaction() as session:
            carts.set_quantity(
                session,
                caller.user_id,
                product_id,
                body.quantity,
                max_lines=settings.orders_max_lines,
            )
    except PricingError as exc:
        raise api_error_of(exc) from exc
    return _cart(db, catalog, caller)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, summary="Empty the cart")
def empty_cart(db: DatabaseDep, caller: CallerDep) -> Response:
    """Removes every line. Emptying an empty cart is not an error."""
    with db.transaction() as session:
        carts.clear(session, caller.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
