"""The demo catalog ``make dev`` starts with (``demo_catalog.json``: 8 categories, 69 products
with varied attributes, prices and stock), so the shop looks real.

Seeding only happens while the catalog has no product, so running it again (every ``make dev``)
changes nothing, and a catalog an operator filled is never touched. Product ids are derived from
the SKU, so every fresh seed has the same ids. Stock goes in as a receipt, so the invariant
``available + reserved == received`` holds from the start.
"""

from __future__ import annotations

import json
import logging
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from catalog.domain.keys import check_attributes
from catalog.domain.pricing import parse_price
from catalog.domain.slugs import slugify
from catalog.settings import Settings
from catalog.store import Store
from catalog.store.products import Conflict

logger = logging.getLogger(__name__)

DEMO_FILE = Path(__file__).with_name("demo_catalog.json")
PRODUCT_NAMESPACE = uuid.UUID("0b8e2f4c-54d1-4c8a-9a55-3c1f0e9d7a21")


@cache
def demo_catalog() -> dict[str, list[dict[str, Any]]]:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def product_id(sku: str) -> str:
    return str(uuid.uuid5(PRODUCT_NAMESPACE, sku))


def demo_products(currency: str) -> list[tuple[dict[str, Any], int]]:
    """Product fields (as the store takes them) and the stock to receive, per demo product."""
    products = []
    for item in demo_catalog()["products"]:
        slug = slugify(item["name"])
        fields = {
            "sku": item["sku"],
            "name": item["name"],
            "slug": slug,
            "description": item["description"],
            "price_minor": parse_price(item["price"]),
            "currency": currency,
            "category": item["category"],
            "attributes": check_attributes(item["attributes"]),
            # Served by the SPA (frontend/public): its Content-Security-Policy allows images
            # from its own origin only.
            "images": [f"/images/demo/{item['category']}.svg"],
            "active": item["active"],
        }
        products.append((fields, item["stock"]))
    return products


def seed_if_empty(store: Store, settings: Settings) -> int:
    """Create the demo categories and products unless the catalog has products; returns how
    many products were created."""
    if store.products.exists():
        logger.info("catalog not empty; demo seed skipped")
        return 0
    for category in demo_catalog()["categories"]:
        if not store.categories.exists(category["slug"]):
            store.categories.create(
                category["slug"],
                category["name"],
                category["description"],
                category["attribute_labels"],
            )
    created = 0
    for fields, stock in demo_products(settings.catalog_default_currency):
        pid = product_id(fields["sku"])
        try:
            store.products.create(fields, slug_explicit=True, product_id=pid)
        except Conflict:
            continue  # a concurrent seed got there first
        if stock:
            store.stock.receive(pid, stock)
        created += 1
    logger.info("demo catalog seeded", extra={"products": created})
    return created
