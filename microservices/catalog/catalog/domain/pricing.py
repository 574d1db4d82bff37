"""Prices as exact decimals.

A price travels as a decimal string with a currency (``"12.50"``, ``"EUR"``) and is stored as an
integer number of minor units (1250 cents): exact, comparable and sortable on any MongoDB
(the local MongoDB-compatible server has no Decimal128). Every accepted currency has two minor
digits, so minor units compare across them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MINOR_DIGITS = 2
MINOR_PER_UNIT = 10**MINOR_DIGITS
MAX_PRICE_MINOR = 10**12  # ten billion per unit: beyond any shop, within int64 with quantities


class InvalidPrice(ValueError):
    """A price that is not a positive amount with at most two decimals."""


def parse_price(text: str, *, allow_zero: bool = False) -> int:
    """``"12.5"`` -> 1250. Refuses exponents, signs, NaN, more than two decimals, and zero
    (unless ``allow_zero``: a price filter may be 0)."""
    if not isinstance(text, str) or not text or len(text) > 20:
        raise InvalidPrice('a price is a decimal string such as "12.50"')
    if not all(char.isdigit() or char == "." for char in text) or not text[0].isdigit():
        raise InvalidPrice('a price is a decimal string such as "12.50"')
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidPrice('a price is a decimal string such as "12.50"') from exc
    minor = amount * MINOR_PER_UNIT
    if minor != minor.to_integral_value():
        raise InvalidPrice(f"at most {MINOR_DIGITS} decimals")
    value = int(minor)
    if value == 0 and not allow_zero:
        raise InvalidPrice("must be greater than 0")
    if value > MAX_PRICE_MINOR:
        raise InvalidPrice("too large")
    return value


def format_price(minor: int) -> str:
    """1250 -> ``"12.50"``."""
    units, cents = divmod(minor, MINOR_PER_UNIT)
    return f"{units}.{cents:0{MINOR_DIGITS}d}"


def line_total(unit_minor: int, quantity: int) -> int:
    return unit_minor * quantity
