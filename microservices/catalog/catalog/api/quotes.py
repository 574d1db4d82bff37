"""``/api/catalog/quotes``: prices lines for checkout (any authenticated user; the orders
service calls it with the shopper's token)."""

from __future__ import annotations

from collections import Counter

from flask import Response, jsonify
from pydantic import BaseModel, Field

from catalog.domain.pricing import format_price, line_total

from .auth import SECURITY
from .blueprints import resource_blueprint
from .context import context
from .errors import invalid
from .guards import users_only
from .schemas import JSON_BODY, SIGNED_IN, Identifier, Input, Quantity, errors

MAX_LINES = 100

bp = resource_blueprint("quotes", "Prices for checkout", users_only)


class QuoteLineIn(Input):
    product_id: Identifier
    quantity: Quantity


class QuoteRequest(Input):
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=MAX_LINES)


class QuotedLine(BaseModel):
    product_id: str
    quantity: int
    name: str
    sku: str
    unit_price: str = Field(examples=["12.50"])
    line_total: str = Field(examples=["25.00"])
    currency: str
    active: bool
    available: bool = Field(description="the quantity can be reserved now")
    stock_available: int = Field(description="units available now")


class Quote(BaseModel):
    lines: list[QuotedLine]


@bp.post("", responses={200: Quote, **errors(*SIGNED_IN, *JSON_BODY, 422)}, security=SECURITY)
def create_quote(body: QuoteRequest) -> Response:
    """Current price and availability of each line.

    For any signed-in user, and for orders at checkout. Nothing is reserved: stock is reserved
    when the order is placed (event ``order.placed``).
    """
    products = context().store.products.get_many(sorted({line.product_id for line in body.lines}))
    unknown = {
        f"lines.{index}.product_id": ["no such product"]
        for index, line in enumerate(body.lines)
        if line.product_id not in products
    }
    if unknown:
        raise invalid(unknown, "Some lines name products that do not exist.")
    wanted: Counter[str] = Counter()
    for line in body.lines:
        wanted[line.product_id] += line.quantity  # two lines of one product need both
    quoted = []
    for line in body.lines:
        doc = products[line.product_id]
        quoted.append(
            QuotedLine(
                product_id=line.product_id,
                quantity=line.quantity,
                name=doc["name"],
                sku=doc["sku"],
                unit_price=format_price(doc["price_minor"]),
                line_total=format_price(line_total(doc["price_minor"], line.quantity)),
                currency=doc["currency"],
                active=doc["active"],
                available=doc["active"] and doc["available"] >= wanted[line.product_id],
                stock_available=doc["available"],
            ).model_dump(mode="json")
        )
    return jsonify({"lines": quoted})
