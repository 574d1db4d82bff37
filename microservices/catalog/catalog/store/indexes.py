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
    "stock_holds": [IndexModel([("order_id", ASCENDING)]), IndexModel([("state", ASCENDING)])],
    # the decisions are the outbox too (outbox.py): pending ones by age; marked sent by event id
    "order_decisions": [
        IndexModel([("announced", ASCENDING), ("enqueued_at", ASCENDING)]),
        IndexModel([("event_id", ASCENDING)]),
    ],
    "dead_letters": [IndexModel([("state", ASCENDING), ("created_at", DESCENDING)])],
}

# Indexes earlier versions created that nothing uses any more (dropped if present): the
# wildcard index on the holds kept inside product documents before they had their own.
OBSOLETE_INDEXES = {"products": ["reservations"]}


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
    for collection, names in OBSOLETE_INDEXES.items():
        for name in set(names) & set(db[collection].index_information()):
            db[collection].drop_index(name)
            logger.info("dropped obsolete index %s.%s", collection, name)


def _is_text(index: IndexModel) -> bool:
    return TEXT in dict(index.document["key"]).values()


def _text_search_works(collection: Collection) -> bool:
    try:
        collection.find_one({"$text": {"$search": "probe"}}, {"_id": 1})
    except OperationFailure:
        return False
    return True
