"""Products: documents, queries and edits.

A product document::

    {_id, sku, name, slug, description, price_minor, currency, category, attributes, images,
     active, created_at, updated_at, version, search_text,
     available, reserved, received, pending: {<order id>: change under way}}

Stock fields change only through :mod:`.stock`, which keeps the holds in documents of their own.
Edits use optimistic concurrency on ``version`` (stock updates leave it alone), so an edit and the
``search_text`` derived from it are written in one single-document update and two concurrent
edits never interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from catalog.domain.keys import check_key
from catalog.domain.search import searchable_text, text_search
from catalog.domain.slugs import MAX_SLUG, slugify

from .documents import new_id, utcnow

Sort = Literal["relevance", "newest", "price_asc", "price_desc", "name"]

# What a reader gets: never the changes under way (order ids) or the derived search text.
PUBLIC_PROJECTION = {"pending": 0, "search_text": 0}
EDIT_RETRIES = 5


class Conflict(Exception):
    """A unique field (``sku``, ``slug``) is taken, or the product cannot be removed now."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ProductQuery:
    """A validated browse/search request (the API builds it; names are already safe)."""

    terms: tuple[str, ...] = ()
    category: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    currency: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    in_stock: bool | None = None
    include_inactive: bool = False
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = 20

    def filter(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if not self.include_inactive:
            query["active"] = True
        if self.terms:
            query["$text"] = {"$search": text_search(self.terms)}
        if self.category:
            query["category"] = self.category
        price: dict[str, int] = {}
        if self.min_price_minor is not None:
            price["$gte"] = self.min_price_minor
        if self.max_price_minor is not None:
            price["$lte"] = self.max_price_minor
        if price:
            query["price_minor"] = price
        if self.currency:
            query["currency"] = self.currency
        for name, value in self.attributes.items():
            query[f"attributes.{check_key(name)}"] = {"$in": attribute_matches(value)}
        if self.in_stock is True:
            query["available"] = {"$gt": 0}
        elif self.in_stock is False:
            query["available"] = {"$lte": 0}
        return query

    def order(self) -> list[tuple[str, Any]]:
        sort = self.sort
        if sort == "relevance" and not self.terms:
            sort = "newest"
        keys: dict[str, list[tuple[str, Any]]] = {
            "relevance": [("score", {"$meta": "textScore"})],
            "newest": [("created_at", -1)],
            "price_asc": [("price_minor", 1)],
            "price_desc": [("price_minor", -1)],
            "name": [("name", 1)],
        }
        return [*keys[sort], ("_id", 1)]  # a total order, so pages never overlap


def attribute_matches(value: str) -> list[Any]:
    """A query-string value matches the string and, when it reads as one, the number or
    boolean (``attr.size=42`` finds ``{"size": 42}`` and ``{"size": "42"}``)."""
    candidates: list[Any] = [value]
    lowered = value.lower()
    if lowered in ("true", "false"):
        candidates.append(lowered == "true")
    else:
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and number == number and abs(number) < 2**53:
            candidates.append(int(number) if number.is_integer() else number)
    return candidates


class ProductStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def get(self, product_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": product_id}, PUBLIC_PROJECTION)

    def get_by_slug(self, slug: str) -> dict[str, Any] | None:
        return self.collection.find_one({"slug": slug}, PUBLIC_PROJECTION)

    def get_many(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        docs = self.collection.find({"_id": {"$in": product_ids}}, PUBLIC_PROJECTION)
        return {doc["_id"]: doc for doc in docs}

    def search(self, query: ProductQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of matching products and the total count."""
        mongo_filter = query.filter()
        cursor = (
            self.collection.find(mongo_filter, PUBLIC_PROJECTION)
            .sort(query.order())
            .skip((query.page - 1) * query.page_size)
            .limit(query.page_size)
        )
        items = list(cursor)
        # An aggregation $count, not count_documents: nx-27017 miscounts text queries there.
        counted = list(self.collection.aggregate([{"$match": mongo_filter}, {"$count": "n"}]))
        return items, counted[0]["n"] if counted else 0

    def exists(self) -> bool:
        return self.collection.find_one({}, {"_id": 1}) is not None

    def create(
        self, fields: Mapping[str, Any], *, slug_explicit: bool, product_id: str | None = None
    ) -> dict[str, Any]:
        """Insert a new product with no stock. A derived slug that is taken gets the SKU
        appended; a taken SKU or explicit slug raises :class:`Conflict`."""
        now = utcnow()
        doc = {
            "_id": product_id or new_id(),
            **fields,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "available": 0,
            "reserved": 0,
            "received": 0,
        }
        doc["search_text"] = _search_text(doc)
        try:
            self.collection.insert_one(doc)
        except DuplicateKeyError:
            self._check_sku(doc["sku"])
            if slug_explicit:
                raise Conflict("slug", f"A product with slug {doc['slug']!r} exists.") from None
            doc["slug"] = f"{doc['slug']}-{slugify(doc['sku'])}"[:MAX_SLUG].strip("-")
            try:
                self.collection.insert_one(doc)
            except DuplicateKeyError:
                self._check_sku(doc["sku"])
                raise Conflict("slug", f"A product with slug {doc['slug']!r} exists.") from None
        return _public(doc)

    def update(self, product_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply a partial edit; None if there is no such product."""

        def fields(current: dict[str, Any]) -> dict[str, Any]:
            return {**changes, "search_text": _search_text({**current, **changes})}

        return self._edit(product_id, fields)

    def change_images(
        self, product_id: str, change: Callable[[list[str]], list[str]]
    ) -> dict[str, Any] | None:
        """Replace a product's image list with ``change(current list)``, as one optimistic edit
        (two uploads at once both land); None if there is no such product. ``change`` may raise
        :class:`Conflict` to refuse."""
        return self._edit(product_id, lambda current: {"images": change(current.get("images", []))})

    def _edit(
        self, product_id: str, fields: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Set ``fields(current document)`` in one single-document update, retried while
        another edit changed the product meanwhile (``version``); None if there is none."""
        for _ in range(EDIT_RETRIES):
            current = self.collection.find_one({"_id": product_id}, {"pending": 0})
            if current is None:
                return None
            changes = fields(current)
            update = {"$set": {**changes, "updated_at": utcnow()}, "$inc": {"version": 1}}
            try:
                # update_one, not find_one_and_update: nx-27017's findAndModify answers "no
                # match" instead of raising on a unique-index violation.
                result = self.collection.update_one(
                    {"_id": product_id, "version": current["version"]}, update
                )
            except DuplicateKeyError:
                # the SKU never changes, so the slug is taken
                slug = changes.get("slug", current["slug"])
                raise Conflict("slug", f"A product with slug {slug!r} exists.") from None
            if result.matched_count:
                return self.get(product_id)
        raise RuntimeError(f"product {product_id} kept changing; edit not applied")

    def find_by_image(self, url: str) -> dict[str, Any] | None:
        return self.collection.find_one({"images": url}, {"_id": 1})

    def delete(self, product_id: str) -> bool:
        """Remove a product that holds no reservation; False if there is no such product."""
        if self.collection.delete_one({"_id": product_id, "reserved": 0}).deleted_count:
            return True
        if self.collection.find_one({"_id": product_id}, {"_id": 1}) is None:
            return False
        raise Conflict(
            "reserved",
            "The product has stock reserved for orders; deactivate it instead.",
        )

    def _check_sku(self, sku: str) -> None:
        """Name the field of a unique-index violation (portable: the error text differs
        between MongoDB and nx-27017, so ask the data)."""
        if self.collection.find_one({"sku": sku}, {"_id": 1}):
            raise Conflict("sku", f"A product with SKU {sku!r} exists.")

    def counts_by_category(self) -> dict[str, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"active": True}},
            {"$group": {"_id": "$category", "n": {"$sum": 1}}},
        ]
        return {row["_id"]: row["n"] for row in self.collection.aggregate(pipeline)}


def _search_text(doc: Mapping[str, Any]) -> str:
    return searchable_text(
        name=doc["name"],
        description=doc.get("description", ""),
        sku=doc["sku"],
        category=doc["category"],
        attributes=doc.get("attributes", {}),
    )


def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key not in PUBLIC_PROJECTION}
