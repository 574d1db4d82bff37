"""Pricing through the catalog, in HTTP terms: every way it can fail becomes a clear 4xx or a
503 ``catalog_unavailable``, never a 500."""

from __future__ import annotations

import math
from collections.abc import Sequence

from msh_common.errors import INVALID_TOKEN
from orders.catalog import CatalogUnavailable, QuoteSource
from orders.catalog.client import QuoteRefused
from orders.domain.pricing import (
    LineRequest,
    PricedOrder,
    PricingError,
    Quote,
    price_lines,
)

from .deps import Caller
from .errors import ApiError


def api_error_of(exc: PricingError) -> ApiError:
    fields = {product_id: [reason] for product_id, reason in exc.products.items()}
    return ApiError(422, exc.message, code=exc.code, fields=fields or None)


def fetch_quotes(
    catalog: QuoteSource, caller: Caller, lines: Sequence[LineRequest]
) -> dict[str, Quote]:
    try:
        return catalog.quote(lines, caller.token)
    except CatalogUnavailable as exc:
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after or 1)))}
        raise ApiError(
            503,
            "The catalog cannot price products right now; nothing was ordered. Try again shortly.",
            code="catalog_unavailable",
            headers=headers,
        ) from exc
    except QuoteRefused as exc:
        if exc.status_code == 401:
            raise ApiError(401, "The catalog refused the token.", code=INVALID_TOKEN) from exc
        raise ApiError(
            422,
            str(exc.error.get("message") or "The catalog refused to price these products."),
            code="product_unavailable",
            fields=_fields_of(exc.error.get("fields")),
        ) from exc


def _fields_of(raw: object) -> dict[str, list[str]] | None:
    """The catalog's ``fields`` passed on, in our shape whatever it sent."""
    if not isinstance(raw, dict):
        return None
    return {
        str(key): [str(item) for item in value] if isinstance(value, list) else [str(value)]
        for key, value in raw.items()
    }


def quote_and_price(
    catalog: QuoteSource, caller: Caller, lines: Sequence[LineRequest]
) -> PricedOrder:
    """The price snapshot of ``lines`` (already merged and capped)."""
    quotes = fetch_quotes(catalog, caller, lines)
    try:
        return price_lines(lines, quotes)
    except PricingError as exc:
        raise api_error_of(exc) from exc
