"""The catalog's indexes, created (idempotently) by ``python -m catalog setup``."""

from __future__ import annotations

import logging

from pymongo import ASCENDING, DESCENDING, TEXT, IndexModel
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

logger = logging.getLogger(__name__)

INDEXES: dict[str, list[IndexModel]] = {
    "products": [
        IndexModel([("sku", ASCENDING)], name="sku", unique=True),
        IndexModel([("slug", ASCENDING)], name="slug", unique=True),
        # search_text repeats the name; the name's own weight ranks name matches first.
        IndexModel(
            [("name", TEXT), ("search_text", TEXT)],
            name="search",
            weights={"name": 5, "search_text": 1},
            default_language="english",
        ),
        IndexModel([("active", ASCENDING), ("category", ASCENDING), ("price_minor", ASCENDING)]),
        IndexModel([("active", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("active", ASCENDING), ("price_minor", ASCENDING)]),
    ],
    "outbox": [IndexModel([("state", ASCENDING), ("enqueued_at", ASCENDING)])],
    "dead_letters": [IndexModel([("state", ASCENDING), ("created_at", DESCENDING)])],
}

# Finds the products an order holds stock in (order.cancelled) without a collection scan.
# MongoDB has wildcard indexes; nx-27017 refuses the name and scans instead.
OPTIONAL_INDEXES: dict[str, list[IndexModel]] = {
    "products": [IndexModel([("reservations.$**", ASCENDING)], name="reservations")],
}


def ensure_indexes(db: Database) -> None:
    """Create what is missing; an index that exists already is left as it is."""
    for collection, indexes in INDEXES.items():
        for index in indexes:
            try:
                db[collection].create_indexes([index])
            except OperationFailure:
                # nx-27017 fails to re-create a text index over existing documents (MongoDB
                # accepts the identical index silently); a working $text query proves it is there.
                if not (_is_text(index) and _text_search_works(db[collection])):
                    raise
    for collection, indexes in OPTIONAL_INDEXES.items():
        try:
            db[collection].create_indexes(indexes)
        except OperationFailure as exc:
            logger.info("optional index not supported here: %s", exc.details or exc)


def _is_text(index: IndexModel) -> bool:
    return TEXT in dict(index.document["key"]).values()


def _text_search_works(collection: Collection) -> bool:
    try:
        collection.find_one({"$text": {"$search": "probe"}}, {"_id": 1})
    except OperationFailure:
        return False
    return True
