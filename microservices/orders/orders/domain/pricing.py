"""Pricing a checkout from catalog quotes: exact decimals, one currency, nothing unavailable.

Stock is not checked here: the catalog's reservation is the only authority on stock (an order
for more than is available is placed, then rejected by the saga with the reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class LineRequest:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Quote:
    """What the catalog says about one product right now."""

    product_id: str
    found: bool
    name: str = ""
    unit_price: Decimal = Decimal(0)
    currency: str = ""
    active: bool = False
    available: int | None = None


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: str
    name: str
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    currency: str

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal(0))


class PricingError(Exception):
    """A checkout that cannot be priced; ``code`` and ``products`` go to the client."""

    code = "pricing_error"

    def __init__(self, message: str, products: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.products = dict(products or {})


class ProductUnavailable(PricingError):
    code = "product_unavailable"


class MixedCurrencies(PricingError):
    code = "mixed_currencies"


class TooManyLines(PricingError):
    code = "too_many_lines"


class QuantityTooLarge(PricingError):
    code = "quantity_too_large"


class EmptyOrder(PricingError):
    code = "empty_order"


def merge_lines(
    lines: Iterable[LineRequest], *, max_quantity: int, max_lines: int
) -> list[LineRequest]:
    """One line per product (quantities of repeated products added up), in first-seen order."""
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if not merged:
        raise EmptyOrder("There is nothing to order: the cart is empty.")
    if len(merged) > max_lines:
        raise TooManyLines(f"An order holds at most {max_lines} different products.")
    too_large = {
        pid: f"at most {max_quantity}" for pid, qty in merged.items() if qty > max_quantity
    }
    if too_large:
        raise QuantityTooLarge(
            f"A line holds at most {max_quantity} of one product.", products=too_large
        )
    return [LineRequest(pid, qty) for pid, qty in merged.items()]


def unavailable_reason(quote: Quote | None) -> str | None:
    """Why a product cannot be bought at all (None when it can)."""
    if quote is None or not quote.found:
        return "unknown product"
    if not quote.active:
        return "product is not for sale"
    if quote.unit_price <= 0 or not quote.currency:
        return "product has no price"
    return None


def price_lines(lines: Iterable[LineRequest], quotes: Mapping[str, Quote]) -> PricedOrder:
    """Snapshot every line's name and unit price from ``quotes``.

    Raises :class:`ProductUnavailable` naming every unknown or inactive product, and
    :class:`MixedCurrencies` when the products are not all priced in one currency.
    """
    lines = list(lines)
    problems = {
        line.product_id: reason
        for line in lines
        if (reason := unavailable_reason(quotes.get(line.product_id))) is not None
    }
    if problems:
        raise ProductUnavailable("Some products cannot be ordered.", products=problems)
    currencies = {quotes[line.product_id].currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrencies(
            "All products of one order must be priced in one currency.",
            products={line.product_id: quotes[line.product_id].currency for line in lines},
        )
    priced = tuple(
        PricedLine(
            product_id=line.product_id,
            name=quotes[line.product_id].name,
            unit_price=quotes[line.product_id].unit_price,
            quantity=line.quantity,
        )
        for line in lines
    )
    return PricedOrder(lines=priced, currency=currencies.pop())
